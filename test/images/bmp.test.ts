import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { bmp24 } from "../../fixtures/images/catalogue.mjs";
import { ErrorCodes } from "../../src/errors.js";
import { BmpError, bmpToSharp, decodeBmp as decodeRaw, readBmpHeader } from "../../src/images/bmp.js";
import { prepareImage } from "../../src/images/prepare-image.js";
import { opts, received } from "./helpers.js";

/** A BMP from parts: the 14-byte file header is computed, `dib` is the DIB header as given. */
function bmp(dib: Buffer, extra: Buffer, pixels: Buffer): Buffer {
  const offset = 14 + dib.length + extra.length;
  const file = Buffer.alloc(14);
  file.write("BM", 0, "latin1");
  file.writeUInt32LE(offset + pixels.length, 2);
  file.writeUInt32LE(offset, 10);
  return Buffer.concat([file, dib, extra, pixels]);
}

function info(size: number, width: number, height: number, bpp: number, compression = 0, colors = 0): Buffer {
  const h = Buffer.alloc(size);
  h.writeUInt32LE(size, 0);
  h.writeInt32LE(width, 4);
  h.writeInt32LE(height, 8);
  h.writeUInt16LE(1, 12);
  h.writeUInt16LE(bpp, 14);
  h.writeUInt32LE(compression, 16);
  h.writeUInt32LE(colors, 32);
  return h;
}

const u32 = (...v: number[]) => Buffer.from(new Uint32Array(v).buffer);

/** Decodes as prepareImage does (decodeBmp, then sharp for the channel order): RGB(A) pixels. */
async function decodeBmp(buf: Buffer) {
  const { data, info } = await bmpToSharp(sharp, decodeRaw(buf)).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}
const pixel = (p: { data: Buffer; width: number; channels: number }, x: number, y: number) =>
  Array.from(p.data.subarray((y * p.width + x) * p.channels, (y * p.width + x + 1) * p.channels));

describe("decodeBmp", () => {
  it("decodes 24-bit bottom-up rows with padding", async () => {
    const rgb = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]); // 3x2
    const p = await decodeBmp(bmp24(3, 2, rgb));
    expect([p.width, p.height, p.channels]).toEqual([3, 2, 3]);
    expect(p.data.equals(rgb)).toBe(true);
  });

  it("decodes an 8-bit palette image stored top-down (negative height)", async () => {
    const palette = Buffer.from([0, 0, 255, 0, /* red */ 255, 0, 0, 0 /* blue */]);
    const rows = Buffer.from([0, 1, 0, 0, /* row 0 */ 1, 0, 0, 0 /* row 1 */]);
    const p = await decodeBmp(bmp(info(40, 2, -2, 8, 0, 2), palette, rows));
    expect(pixel(p, 0, 0)).toEqual([255, 0, 0]);
    expect(pixel(p, 1, 0)).toEqual([0, 0, 255]);
    expect(pixel(p, 0, 1)).toEqual([0, 0, 255]);
  });

  it("decodes 1-bit and 4-bit palettes", async () => {
    const bw = Buffer.from([0, 0, 0, 0, 255, 255, 255, 0]);
    const p1 = await decodeBmp(bmp(info(40, 3, 1, 1), bw, Buffer.from([0b10100000, 0, 0, 0])));
    expect([pixel(p1, 0, 0), pixel(p1, 1, 0), pixel(p1, 2, 0)]).toEqual([
      [255, 255, 255],
      [0, 0, 0],
      [255, 255, 255],
    ]);
    const pal16 = Buffer.alloc(64);
    pal16.set([0, 255, 0, 0], 4 * 3); // index 3 = green
    const p4 = await decodeBmp(bmp(info(40, 2, 1, 4), pal16, Buffer.from([0x30, 0, 0, 0])));
    expect([pixel(p4, 0, 0), pixel(p4, 1, 0)]).toEqual([
      [0, 255, 0],
      [0, 0, 0],
    ]);
  });

  it("decodes RLE8 and RLE4", async () => {
    const palette = Buffer.from([0, 0, 0, 0, 0, 0, 255, 0, 255, 0, 0, 0]); // 0 black, 1 red, 2 blue
    // RLE8 4x2, bottom-up: row 1 (stored first) = 4 x red; row 0 = absolute [2,1,2] + 1 run of black
    const rle8 = Buffer.from([4, 1, 0, 0, 0, 3, 2, 1, 2, 0, 1, 0, 0, 0, 1]);
    const p8 = await decodeBmp(bmp(info(40, 4, 2, 8, 1, 3), palette, rle8));
    expect([pixel(p8, 0, 0), pixel(p8, 1, 0), pixel(p8, 3, 0), pixel(p8, 2, 1)]).toEqual([
      [0, 0, 255],
      [255, 0, 0],
      [0, 0, 0],
      [255, 0, 0],
    ]);
    // RLE4 4x1: run of 4 alternating 1,2
    const pal16 = Buffer.concat([palette, Buffer.alloc(52)]);
    const p4 = await decodeBmp(bmp(info(40, 4, 1, 4, 2, 3), pal16, Buffer.from([4, 0x12, 0, 1])));
    expect([0, 1, 2, 3].map((x) => pixel(p4, x, 0))).toEqual([
      [255, 0, 0],
      [0, 0, 255],
      [255, 0, 0],
      [0, 0, 255],
    ]);
  });

  it("decodes 16-bit 565 BITFIELDS and the 555 default", async () => {
    const p565 = await decodeBmp(
      bmp(info(40, 2, 1, 16, 3), u32(0xf800, 0x07e0, 0x001f), Buffer.from([0x00, 0xf8, 0x1f, 0x00])),
    );
    expect([pixel(p565, 0, 0), pixel(p565, 1, 0)]).toEqual([
      [255, 0, 0],
      [0, 0, 255],
    ]);
    const p555 = await decodeBmp(bmp(info(40, 1, 1, 16), Buffer.alloc(0), Buffer.from([0xe0, 0x03, 0, 0])));
    expect(pixel(p555, 0, 0)).toEqual([0, 255, 0]);
  });

  it("decodes 32-bit BGRA from a V4 header with an alpha mask, and ignores X in 32-bit BI_RGB", async () => {
    const v4 = info(108, 1, 1, 32, 3);
    v4.set(u32(0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000), 40);
    const a = await decodeBmp(bmp(v4, Buffer.alloc(0), Buffer.from([255, 0, 0, 128])));
    expect([a.channels, pixel(a, 0, 0)]).toEqual([4, [0, 0, 255, 128]]);
    const x = await decodeBmp(bmp(info(40, 1, 1, 32), Buffer.alloc(0), Buffer.from([0, 255, 0, 0])));
    expect([x.channels, pixel(x, 0, 0)]).toEqual([3, [0, 255, 0]]);
  });

  it("treats an alpha mask that is 0 everywhere as opaque", async () => {
    const v5 = info(124, 1, 1, 32, 3);
    v5.set(u32(0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000), 40);
    const p = await decodeBmp(bmp(v5, Buffer.alloc(0), Buffer.from([0, 0, 255, 0])));
    expect([p.channels, pixel(p, 0, 0)]).toEqual([3, [255, 0, 0]]);
  });

  it("decodes an OS/2 core header (12 bytes, 3-byte palette entries)", async () => {
    const core = Buffer.alloc(12);
    core.writeUInt32LE(12, 0);
    core.writeUInt16LE(1, 4);
    core.writeUInt16LE(1, 6);
    core.writeUInt16LE(1, 8);
    core.writeUInt16LE(8, 10);
    const palette = Buffer.alloc(256 * 3);
    palette.set([0, 128, 255], 3 * 7);
    const p = await decodeBmp(bmp(core, palette, Buffer.from([7, 0, 0, 0])));
    expect(pixel(p, 0, 0)).toEqual([255, 128, 0]);
  });

  it("refuses truncated pixel data, zero sizes and embedded PNG", () => {
    const whole = bmp24(4, 4, Buffer.alloc(48, 9));
    expect(() => decodeRaw(whole.subarray(0, whole.length - 10))).toThrow(/truncated/);
    expect(() => readBmpHeader(bmp(info(40, 0, 4, 24), Buffer.alloc(0), Buffer.alloc(0)))).toThrow(BmpError);
    expect(() => readBmpHeader(bmp(info(40, 1, 1, 24, 5), Buffer.alloc(0), Buffer.alloc(4)))).toThrow(/compression 5/);
  });
});

describe("BMP through prepareImage", () => {
  it("converts a 32-bit BMP with alpha to an RGBA PNG", async () => {
    const v4 = info(108, 2, 1, 32, 3);
    v4.set(u32(0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000), 40);
    const p = await prepareImage(bmp(v4, Buffer.alloc(0), Buffer.from([255, 0, 0, 255, 0, 0, 0, 0])), "a.bmp", opts());
    const r = await received(`data:${p.mime};base64,${p.bytes.toString("base64")}`);
    expect([r.meta.format, r.meta.channels, r.meta.hasAlpha]).toEqual(["png", 4, true]);
    expect(await r.pixel(0, 0)).toEqual([0, 0, 255, 255]);
  });

  it("fails a truncated BMP with IMAGE_DECODE naming the file", async () => {
    const whole = bmp24(4, 4, Buffer.alloc(48, 9));
    await expect(prepareImage(whole.subarray(0, 60), "scan.bmp", opts())).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_DECODE,
      message: expect.stringMatching(/^scan\.bmp: cannot decode bmp: BMP pixel data is truncated/),
    });
  });

  it("refuses a BMP whose header claims more than max_input_pixels", async () => {
    await expect(
      prepareImage(bmp(info(40, 30000, 30000, 24), Buffer.alloc(0), Buffer.alloc(16)), "big.bmp", opts()),
    ).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_TOO_LARGE,
    });
  });
});
