import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";
import { createImageCache } from "../../src/images/image-cache.js";
import { ImageOptionsSchema, normalizeSteps } from "../../src/images/options.js";
import { type ImageFs, resolveImage, resolveImageNow } from "../../src/images/resolve-image.js";
import { sniffImageFormat, sniffImageMime } from "../../src/images/sniff-mime.js";
import { opts, received } from "./helpers.js";

let dir: string;
let png: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-resolve-"));
  png = await sharp({ create: { width: 12, height: 10, channels: 3, background: "#123456" } })
    .png()
    .toBuffer();
  await writeFile(path.join(dir, "with space.png"), png);
  // The name says JPEG, the bytes are PNG: the bytes win.
  await writeFile(path.join(dir, "lies.jpg"), png);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("resolveImage", () => {
  it("resolves relative paths against baseDir, absolute paths and file:// URLs (percent-decoded)", async () => {
    const expected = `data:image/png;base64,${png.toString("base64")}`;
    expect(await resolveImage("with space.png", { baseDir: dir, options: opts() })).toBe(expected);
    expect(await resolveImage(path.join(dir, "with space.png"), { baseDir: "/elsewhere", options: opts() })).toBe(
      expected,
    );
    const fileUrl = pathToFileURL(path.join(dir, "with space.png")).href;
    expect(fileUrl).toContain("%20");
    expect(await resolveImage(fileUrl, { baseDir: "/", options: opts() })).toBe(expected);
  });

  it("takes the mime type from the bytes, not the file name", async () => {
    expect(await resolveImage("lies.jpg", { baseDir: dir, options: opts() })).toMatch(/^data:image\/png;base64,/);
  });

  it("checks data: URLs like files and fixes a wrong declared type", async () => {
    const url = `data:image/jpeg;base64,${png.toString("base64")}`;
    expect(await resolveImage(url, { baseDir: dir, options: opts() })).toBe(
      `data:image/png;base64,${png.toString("base64")}`,
    );
    const r = await received(await resolveImage(url, { baseDir: dir, options: opts({ min_edge: 20 }) }));
    expect([r.meta.width, r.meta.height]).toEqual([24, 20]);
    await expect(
      resolveImage("data:image/png;base64,aGVsbG8=", { baseDir: dir, options: opts() }),
    ).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_DECODE,
      message: expect.stringMatching(/^data URL \(image\/png;base64, 5 bytes\): not an image/),
    });
  });

  it("stats a file once per window with a cache, and sends a changed file once the window has passed", async () => {
    const file = path.join(dir, "changing.png");
    await writeFile(file, png);
    const other = await sharp({ create: { width: 30, height: 20, channels: 3, background: "#abcdef" } })
      .png()
      .toBuffer();
    let stats = 0;
    const fs: ImageFs = {
      stat: (f) => {
        stats++;
        return stat(f);
      },
      readFile: (f) => readFile(f),
    };
    const dataUrl = (b: Buffer) => `data:image/png;base64,${b.toString("base64")}`;

    // A window longer than the test: one stat for every row, and a change inside it not yet seen.
    const long = { baseDir: dir, options: opts(), cache: createImageCache(opts()), fs, statWindowMs: 1e9 };
    const first = await Promise.all(Array.from({ length: 50 }, () => resolveImage("changing.png", long)));
    expect(new Set(first)).toEqual(new Set([dataUrl(png)]));
    expect(stats).toBe(1);
    await writeFile(file, other);
    expect(await resolveImage("changing.png", long)).toBe(dataUrl(png));
    expect(stats).toBe(1);

    // A window that has always passed: every row stats, and the change is sent at once.
    stats = 0;
    const none = { ...long, cache: createImageCache(opts()), statWindowMs: 0 };
    expect(await resolveImage("changing.png", none)).toBe(dataUrl(other));
    await writeFile(file, png);
    expect(await resolveImage("changing.png", none)).toBe(dataUrl(png));
    expect(stats).toBe(2);

    // Without a cache nothing is remembered: a stat per call.
    stats = 0;
    await resolveImage("changing.png", { baseDir: dir, options: opts(), fs });
    await resolveImage("changing.png", { baseDir: dir, options: opts(), fs });
    expect(stats).toBe(2);
  });

  it("knows an image at once (resolveImageNow) within its stat window, as resolveImage would answer", async () => {
    const file = path.join(dir, "known.png");
    await writeFile(file, png);
    let calls = 0;
    const fs: ImageFs = {
      stat: (f) => {
        calls++;
        return stat(f);
      },
      readFile: (f) => {
        calls++;
        return readFile(f);
      },
    };
    const ctx = { baseDir: dir, options: opts(), cache: createImageCache(opts()), fs, statWindowMs: 1e9 };
    // Never resolved: not known. http(s) passes through as it is (unless downloads are on); data: URLs are not known at once.
    expect(resolveImageNow("known.png", ctx)).toBeUndefined();
    expect(resolveImageNow("https://example.org/a.png", ctx)).toBe("https://example.org/a.png");
    expect(resolveImageNow("https://example.org/a.png", { ...ctx, options: opts({ fetch: true }) })).toBeUndefined();
    const url = await resolveImage("known.png", ctx);
    const before = calls;
    // The very string the cache holds (request bodies find its encoded bytes by it), no file-system call.
    expect(resolveImageNow("known.png", ctx)).toBe(url);
    expect(resolveImageNow(file, ctx)).toBeUndefined(); // another reference: resolved the long way first
    expect(calls).toBe(before);
    // Another folder or other image options: another image.
    expect(resolveImageNow("known.png", { ...ctx, baseDir: tmpdir() })).toBeUndefined();
    expect(resolveImageNow("known.png", { ...ctx, options: opts({ max_pixels: 100 }) })).toBeUndefined();
    // Out of the cache (cleared, or evicted): not known, whatever the window says.
    ctx.cache.clear();
    expect(resolveImageNow("known.png", ctx)).toBeUndefined();

    // A window that has always passed: never known at once, so a changed file is read again.
    const none = { ...ctx, cache: createImageCache(opts()), statWindowMs: 0 };
    await resolveImage("known.png", none);
    expect(resolveImageNow("known.png", none)).toBeUndefined();
    // Without a cache: nothing is remembered.
    expect(resolveImageNow("known.png", { baseDir: dir, options: opts(), fs })).toBeUndefined();
  });

  it("fails with ABORTED when the signal has already fired", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      resolveImage("with space.png", { baseDir: dir, options: opts(), signal: ac.signal }),
    ).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  });

  it("refuses a FIFO-like non-regular path and a bad file URL", async () => {
    await expect(resolveImage("/dev/null", { baseDir: dir, options: opts() })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_READ,
    });
    await expect(resolveImage("file://remote-host/x.png", { baseDir: dir, options: opts() })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_READ,
    });
  });
});

describe("ImageOptionsSchema", () => {
  it("defaults to sending PNG/JPEG/WebP/GIF untouched with every bound off", () => {
    expect(ImageOptionsSchema.parse({})).toEqual({
      keep_formats: ["png", "jpeg", "webp", "gif"],
      normalize: false,
      background: "#ffffff",
      max_input_pixels: 178956970,
      verify: "decode",
      max_pixels: null,
      min_pixels: null,
      min_edge: null,
      max_bytes: null,
      encode: "keep",
      quality: 90,
      fetch: false,
      fetch_timeout: 30,
      fetch_max_bytes: 67108864,
      fetch_retries: 2,
      cache_bytes: 268435456,
      cache_dir: null,
    });
  });

  it("rejects unknown keys and bad values with messages that name the option", () => {
    const r = ImageOptionsSchema.safeParse({ max_pixel: 5, encode: "gif", background: "white", quality: 0 });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
    expect(paths).toMatch(/max_pixel/);
    expect(paths).toMatch(/encode:/);
    expect(paths).toMatch(/background: background must be a hex colour/);
    expect(paths).toMatch(/quality:/);
  });

  it("accepts lists as arrays or comma-separated strings (++image.normalize=orientation,alpha)", () => {
    const o = ImageOptionsSchema.parse({ normalize: "orientation,alpha", keep_formats: "png, jpeg" });
    expect([...normalizeSteps(o)]).toEqual(["orientation", "alpha"]);
    expect(o.keep_formats).toEqual(["png", "jpeg"]);
    expect(normalizeSteps(ImageOptionsSchema.parse({ normalize: true })).size).toBe(5);
    expect(normalizeSteps(ImageOptionsSchema.parse({ normalize: "true" })).size).toBe(5);
    expect(normalizeSteps(ImageOptionsSchema.parse({ normalize: "false" })).size).toBe(0);
  });
});

describe("sniffImageFormat", () => {
  it("recognises the formats by their first bytes", () => {
    const ftyp = (major: string, ...compat: string[]) => {
      const body = Buffer.from(`ftyp${major}\0\0\0\0${compat.join("")}`, "latin1");
      const size = Buffer.alloc(4);
      size.writeUInt32BE(body.length + 4);
      return Buffer.concat([size, body]);
    };
    expect(sniffImageFormat(ftyp("avif", "mif1"))).toBe("avif");
    expect(sniffImageFormat(ftyp("mif1", "miaf", "avif"))).toBe("avif");
    expect(sniffImageFormat(ftyp("heic", "mif1"))).toBe("heic");
    expect(sniffImageFormat(ftyp("mp42"))).toBeNull();
    expect(sniffImageFormat(Buffer.from("<svg xmlns="))).toBeNull();
    expect(sniffImageMime(Buffer.from("II*\0rest"))).toBe("image/tiff");
  });
});
