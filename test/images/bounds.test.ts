import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";
import { targetSize } from "../../src/images/plan-image.js";
import { prepareImage } from "../../src/images/prepare-image.js";
import { resolveImage } from "../../src/images/resolve-image.js";
import { opts, received } from "./helpers.js";

let dir: string;
let photo: string; // 1600x1000 noisy PNG: big and incompressible, like a scan
let photoBytes: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-bounds-"));
  const w = 1600,
    h = 1000;
  const raw = Buffer.alloc(w * h * 3);
  let s = 12345;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    raw[i] = ((i / 3) % w) / 8 + ((s >>> 24) & 0x3f);
  }
  photoBytes = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
  photo = path.join(dir, "photo.png");
  await writeFile(photo, photoBytes);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const resolve = (over: Record<string, unknown>) => resolveImage(photo, { baseDir: dir, options: opts(over) });

describe("max_pixels / min_pixels / min_edge", () => {
  it("downscales over max_pixels keeping the aspect ratio, same format", async () => {
    const r = await received(await resolve({ max_pixels: 400_000 }));
    expect([r.mime, r.meta.width, r.meta.height]).toEqual(["image/png", 800, 500]);
  });

  it("sends an image within the bounds untouched", async () => {
    expect(await resolve({ max_pixels: 1_600_000, min_edge: 28 })).toBe(
      `data:image/png;base64,${photoBytes.toString("base64")}`,
    );
  });

  it("computes target sizes: floor under max_pixels, ceil over the minimums, max wins", () => {
    const none = { max_pixels: null, min_pixels: null, min_edge: null };
    expect(targetSize(4000, 3000, { ...none, max_pixels: 1_000_000 })).toMatchObject({ width: 1154, height: 866 });
    expect(targetSize(10, 5, { ...none, min_edge: 28 })).toMatchObject({ width: 56, height: 28 });
    expect(targetSize(10, 10, { ...none, min_pixels: 1000 })).toMatchObject({ width: 32, height: 32 });
    expect(targetSize(1, 300, { ...none, min_edge: 28, max_pixels: 10_000 })).toMatchObject({ width: 5, height: 1732 });
    expect(targetSize(640, 480, none)).toEqual({ width: 640, height: 480 });
  });
});

describe("encode", () => {
  it("re-encodes PNG as JPEG at the given quality", async () => {
    const q90 = await received(await resolve({ encode: "jpeg" }));
    const q60 = await received(await resolve({ encode: "jpeg", quality: 60 }));
    expect([q90.mime, q90.meta.width, q90.meta.height]).toEqual(["image/jpeg", 1600, 1000]);
    expect(q60.bytes.length).toBeLessThan(q90.bytes.length);
  });

  it("reports why an image was re-encoded", async () => {
    const p = await prepareImage(photoBytes, photo, opts({ encode: "webp", max_pixels: 100_000 }));
    expect(p.changed).toBe(true);
    expect(p.reasons).toEqual(["encode webp: input is png", "max_pixels: 1600x1000 is over 100000 pixels"]);
    const kept = await prepareImage(photoBytes, photo, opts());
    expect([kept.changed, kept.bytes === photoBytes]).toEqual([false, true]);
  });
});

describe("max_bytes", () => {
  it("shrinks a PNG over budget until it fits, staying PNG (encode keep)", async () => {
    expect(photoBytes.length).toBeGreaterThan(1_000_000);
    const r = await received(await resolve({ max_bytes: 300_000 }));
    expect(r.mime).toBe("image/png");
    expect(r.bytes.length).toBeLessThanOrEqual(300_000);
    expect(r.meta.width! / r.meta.height!).toBeCloseTo(1.6, 1);
  });

  it("lowers JPEG quality before it downscales", async () => {
    const full = await received(await resolve({ encode: "jpeg" }));
    const budget = Math.floor(full.bytes.length * 0.8);
    const r = await received(await resolve({ encode: "jpeg", max_bytes: budget }));
    expect(r.bytes.length).toBeLessThanOrEqual(budget);
    expect([r.meta.width, r.meta.height]).toEqual([1600, 1000]);
  });

  it("fails the row with IMAGE_TOO_LARGE when no size fits", async () => {
    await expect(resolve({ max_bytes: 60 })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_TOO_LARGE,
      message: expect.stringMatching(/photo\.png: cannot fit the image in max_bytes 60/),
    });
  });

  it("names the smallest output it tried, even when a downscale came out larger than the full size", async () => {
    // A fine repeating pattern: PNG packs it tightly at full size, not once it is resampled.
    const w = 400,
      h = 300;
    const raw = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) raw.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256], i * 3);
    const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
    const full = (await img.clone().png({ compressionLevel: 6 }).toBuffer()).length;
    const file = path.join(dir, "pattern.png");
    await writeFile(file, await img.clone().png({ compressionLevel: 0 }).toBuffer());
    const err = await resolveImage(file, { baseDir: dir, options: opts({ max_bytes: 3000, min_edge: 200 }) }).catch(
      (e: Error) => e,
    );
    expect(err).toMatchObject({ code: ErrorCodes.IMAGE_TOO_LARGE });
    const m = /smallest try: (\d+) bytes at (\d+)x(\d+)/.exec((err as Error).message);
    expect([m?.[2], m?.[3]]).toEqual(["400", "300"]);
    expect(Number(m?.[1])).toBeLessThanOrEqual(full * 1.1);
  });

  it("does not shrink below min_edge to meet max_bytes", async () => {
    await expect(resolve({ max_bytes: 5_000, min_edge: 400 })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_TOO_LARGE,
    });
    const r = await received(await resolve({ max_bytes: 60_000, min_edge: 100 }));
    expect(Math.min(r.meta.width!, r.meta.height!)).toBeGreaterThanOrEqual(100);
    expect(r.bytes.length).toBeLessThanOrEqual(60_000);
  });
});
