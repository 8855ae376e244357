import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BLUE, RED, writeFixtures } from "../../fixtures/images/catalogue.mjs";
import { ErrorCodes } from "../../src/errors.js";
import { resolveImage } from "../../src/images/resolve-image.js";
import { near, opts, received } from "./helpers.js";

// Every case asserts what the server would receive: the returned data URL, decoded with sharp.

let dir: string;
let fx: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-images-"));
  fx = await writeFixtures(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const resolve = (name: string, over: Record<string, unknown> = {}) =>
  resolveImage(fx[name]!, { baseDir: dir, options: opts(over) });

async function original(name: string): Promise<string> {
  return (await readFile(fx[name]!)).toString("base64");
}

describe("with the default options (parity with NeMo-Skills)", () => {
  for (const [name, mime] of [
    ["cmykJpeg", "image/jpeg"],
    ["png16", "image/png"],
    ["grey16", "image/png"],
    ["alphaPng", "image/png"],
    ["palettePng", "image/png"],
    ["greyPng", "image/png"],
    ["webp", "image/webp"],
    ["animatedGif", "image/gif"],
    ["exifRotated", "image/jpeg"],
    ["onePixel", "image/png"],
  ] as const) {
    it(`sends ${name} as its original bytes with mime ${mime}`, async () => {
      const url = await resolve(name);
      expect(url).toBe(`data:${mime};base64,${await original(name)}`);
    });
  }

  it("keeps the EXIF orientation tag of a kept JPEG (vLLM's PIL loader ignores it too)", async () => {
    const r = await received(await resolve("exifRotated"));
    expect([r.meta.width, r.meta.height, r.meta.orientation]).toEqual([40, 20, 6]);
  });

  it("keeps all frames of an animated GIF (PIL hands vLLM the first one)", async () => {
    const r = await received(await resolve("animatedGif"));
    expect(r.meta.pages).toBe(4);
  });

  it("converts TIFF to lossless PNG with the same pixels", async () => {
    const r = await received(await resolve("tiff"));
    expect(r.mime).toBe("image/png");
    expect([r.meta.format, r.meta.width, r.meta.height, r.meta.channels, r.meta.space]).toEqual([
      "png",
      40,
      20,
      3,
      "srgb",
    ]);
    expect(await r.pixel(0, 0)).toEqual(RED);
    expect(await r.pixel(39, 19)).toEqual(BLUE);
  });

  it("converts a hand-written 24-bit BMP (row padding) to PNG with the same pixels", async () => {
    const r = await received(await resolve("bmp"));
    expect([r.meta.format, r.meta.width, r.meta.height, r.meta.channels]).toEqual(["png", 5, 3, 3]);
    expect(await r.pixel(4, 0)).toEqual(RED);
    expect(await r.pixel(2, 1)).toEqual([0, 255, 0]);
    expect(await r.pixel(0, 2)).toEqual(BLUE);
  });

  it("converts AVIF to PNG", async () => {
    const r = await received(await resolve("avif"));
    expect([r.meta.format, r.meta.width, r.meta.height]).toEqual(["png", 40, 20]);
    expect(near(await r.pixel(2, 10), RED, 40)).toBe(true);
    expect(near(await r.pixel(37, 10), BLUE, 40)).toBe(true);
  });
});

describe("with normalize on", () => {
  it("applies EXIF orientation 6: a 40x20 image arrives 20x40, upright, with no orientation tag", async () => {
    const r = await received(await resolve("exifRotated", { normalize: ["orientation"] }));
    expect(r.mime).toBe("image/jpeg");
    expect([r.meta.width, r.meta.height, r.meta.orientation]).toEqual([20, 40, undefined]);
    // Orientation 6 = turn 90 degrees clockwise to show: the stored left (red) half is on top.
    expect(near(await r.pixel(10, 5), RED, 30)).toBe(true);
    expect(near(await r.pixel(10, 34), BLUE, 30)).toBe(true);
  });

  it("converts CMYK JPEG to 3-channel sRGB with the colours right", async () => {
    const r = await received(await resolve("cmykJpeg", { normalize: true }));
    expect([r.meta.format, r.meta.space, r.meta.channels]).toEqual(["jpeg", "srgb", 3]);
    // Pure sRGB red and blue are outside the CMYK gamut, so they come back a little duller;
    // what matters is that they are still red and blue (a wrong or inverted conversion is not).
    const [r1, g1, b1] = await r.pixel(2, 10);
    expect(r1! - Math.max(g1!, b1!)).toBeGreaterThan(150);
    const [r2, g2, b2] = await r.pixel(37, 10);
    expect(b2! - Math.max(r2!, g2!)).toBeGreaterThan(60);
  });

  it("converts 16-bit RGB PNG to 8-bit PNG with the same colours", async () => {
    const r = await received(await resolve("png16", { normalize: ["16bit"] }));
    expect([r.meta.format, r.meta.depth, r.meta.bitsPerSample, r.meta.channels]).toEqual(["png", "uchar", 8, 3]);
    expect(await r.pixel(0, 0)).toEqual(RED);
  });

  it("converts 16-bit greyscale PNG to 8-bit greyscale, scaled rather than clipped", async () => {
    const r = await received(await resolve("grey16", { normalize: ["16bit"] }));
    expect([r.meta.format, r.meta.space, r.meta.channels, r.meta.bitsPerSample]).toEqual(["png", "b-w", 1, 8]);
    const [left] = await r.pixel(0, 0);
    const [right] = await r.pixel(39, 0);
    expect(left).toBeLessThan(10);
    expect(right).toBeGreaterThan(200);
    expect(right).toBeLessThan(250);
  });

  it("sends the first frame of an animated GIF as a still PNG", async () => {
    const r = await received(await resolve("animatedGif", { normalize: ["animated"] }));
    expect([r.meta.format, r.meta.pages ?? 1, r.meta.width, r.meta.height]).toEqual(["png", 1, 16, 16]);
    expect((await r.pixel(8, 8)).slice(0, 3)).toEqual([255, 0, 0]);
  });

  it("flattens alpha on the chosen background", async () => {
    const r = await received(await resolve("alphaPng", { normalize: ["alpha"], background: "#00ff00" }));
    expect([r.meta.format, r.meta.channels, r.meta.hasAlpha]).toEqual(["png", 3, false]);
    expect(await r.pixel(0, 0)).toEqual([0, 255, 0]);
    expect(await r.pixel(39, 0)).toEqual(BLUE);
  });

  it("leaves an image with nothing to normalize untouched", async () => {
    expect(await resolve("webp", { normalize: true })).toBe(`data:image/webp;base64,${await original("webp")}`);
  });
});

describe("encode and bounds", () => {
  it("flattens alpha on white by default when encoding to JPEG (as vLLM's rgba_to_rgb does)", async () => {
    const r = await received(await resolve("alphaPng", { encode: "jpeg" }));
    expect([r.mime, r.meta.channels]).toEqual(["image/jpeg", 3]);
    expect(near(await r.pixel(0, 10), [255, 255, 255], 8)).toBe(true);
  });

  it("keeps greyscale as one channel when re-encoding", async () => {
    const r = await received(await resolve("greyPng", { max_pixels: 200 }));
    expect([r.meta.format, r.meta.channels, r.meta.width, r.meta.height]).toEqual(["png", 1, 20, 10]);
  });

  it("re-encodes a palette PNG to WebP when asked", async () => {
    const r = await received(await resolve("palettePng", { encode: "webp" }));
    expect([r.mime, r.meta.width, r.meta.height]).toEqual(["image/webp", 40, 20]);
  });

  it("upscales a 1x1 image to min_edge", async () => {
    const r = await received(await resolve("onePixel", { min_edge: 28 }));
    expect([r.meta.format, r.meta.width, r.meta.height]).toEqual(["png", 28, 28]);
    expect(near(await r.pixel(14, 14), [128, 128, 128], 2)).toBe(true);
  });

  it("converts BMP to JPEG when encode is jpeg", async () => {
    const r = await received(await resolve("bmp", { encode: "jpeg" }));
    expect([r.mime, r.meta.width, r.meta.height]).toEqual(["image/jpeg", 5, 3]);
  });

  it("sends TIFF and BMP untouched when they are added to keep_formats", async () => {
    const url = await resolve("bmp", { keep_formats: ["png", "bmp"] });
    expect(url).toBe(`data:image/bmp;base64,${await original("bmp")}`);
    const tiff = await resolve("tiff", { keep_formats: "png,jpeg,tiff" });
    expect(tiff).toBe(`data:image/tiff;base64,${await original("tiff")}`);
  });
});

describe("bad files fail their row with a code and the file name", () => {
  const cases: [string, string, RegExp][] = [
    ["truncatedJpeg", ErrorCodes.IMAGE_DECODE, /truncated\.jpg: cannot decode jpeg.*premature end.*truncated/],
    ["truncatedPng", ErrorCodes.IMAGE_DECODE, /truncated\.png: cannot decode png.*truncated/],
    ["textAsPng", ErrorCodes.IMAGE_DECODE, /not-an-image\.png: not an image .*"<html><body>404 "/],
    ["empty", ErrorCodes.IMAGE_DECODE, /empty\.png: not an image \(empty file/],
    ["zeroSize", ErrorCodes.IMAGE_DECODE, /zero\.png: /],
    [
      "bomb",
      ErrorCodes.IMAGE_TOO_LARGE,
      /bomb\.png: png of 20000x20000 = 400000000 pixels is over max_input_pixels 178956970/,
    ],
    ["heic", ErrorCodes.IMAGE_DECODE, /fake\.heic: /],
  ];
  for (const [name, code, message] of cases) {
    it(`refuses ${name} with ${code}`, async () => {
      const err = await resolve(name).catch((e: unknown) => e);
      expect(err).toMatchObject({ code });
      expect((err as Error).message).toMatch(message);
    });
  }

  it("catches truncation with verify: decode even when the bytes would be kept", async () => {
    // The truncated JPEG would otherwise go out untouched: only the decode finds it.
    await expect(resolve("truncatedJpeg", { verify: "decode" })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_DECODE,
    });
    const url = await resolve("truncatedJpeg", { verify: "header" });
    expect(url.startsWith("data:image/jpeg;base64,")).toBe(true);
  });

  it("refuses an image over a lowered max_input_pixels before decoding it", async () => {
    await expect(resolve("tiff", { max_input_pixels: 799 })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_TOO_LARGE,
    });
    await expect(resolve("tiff", { max_input_pixels: 800 })).resolves.toMatch(/^data:image\/png;/);
  });

  it("reports a missing file and a directory", async () => {
    await expect(resolveImage("nope.png", { baseDir: dir, options: opts() })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_NOT_FOUND,
    });
    await expect(resolveImage(".", { baseDir: dir, options: opts() })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_READ,
    });
  });
});
