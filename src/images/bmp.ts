import type sharp from "sharp";
import type { Sharp } from "./sharp-lib.js";

/**
 * BMP reader. sharp's prebuilt libvips has no BMP loader (libvips reads BMP only through
 * ImageMagick, which the prebuilt binaries leave out), yet BMP shows up in scanned and
 * Windows-made benchmark sets and vLLM's PIL opens it. So the header is parsed here and the
 * pixels decoded to raw RGB(A), which sharp then takes as `raw` input like any other image.
 *
 * Covers what PIL covers in practice: core (OS/2 1.x, 12-byte), INFO (40) and V2-V5 headers;
 * 1/2/4/8-bit palettes, RLE8, RLE4, 16/24/32-bit with default or BITFIELDS masks; top-down
 * and bottom-up rows. Embedded JPEG/PNG (compression 4/5) is refused.
 */

export type BmpHeader = {
  width: number;
  height: number;
  bitsPerPixel: number;
  compression: number;
  /** Rows stored first-row-first (negative height in the file). */
  topDown: boolean;
  /** Whether pixels carry a usable alpha channel (an alpha mask in a V3+ header, 16/32 bpp). */
  hasAlphaMask: boolean;
};

export type BmpPixels = {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
  /** Samples are in the file's B, G, R(, A) order (bmpToSharp swaps them). */
  bgr: boolean;
  /** With 4 channels: whether the 4th is real alpha (else it is padding, dropped). */
  alpha: boolean;
};

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

export class BmpError extends Error {}

type Layout = BmpHeader & {
  headerSize: number;
  dataOffset: number;
  masks: [number, number, number, number];
  /** r, g, b per index, 2^bpp entries; entries missing from the file stay black. */
  palette: Uint8Array;
};

/** Reads the header only: cheap, enough for the size check before decoding. */
export function readBmpHeader(buf: Buffer): BmpHeader {
  const { width, height, bitsPerPixel, compression, topDown, hasAlphaMask } = layout(buf);
  return { width, height, bitsPerPixel, compression, topDown, hasAlphaMask };
}

function layout(buf: Buffer): Layout {
  if (buf.length < 26 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw new BmpError("not a BMP file");
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  if (buf.length < 14 + Math.min(headerSize, 40)) throw new BmpError("BMP header is truncated");
  let width: number,
    height: number,
    bitsPerPixel: number,
    compression = BI_RGB,
    colorsUsed = 0;
  if (headerSize === 12) {
    width = buf.readUInt16LE(18);
    height = buf.readInt16LE(20);
    bitsPerPixel = buf.readUInt16LE(24);
  } else if (headerSize >= 40) {
    width = buf.readInt32LE(18);
    height = buf.readInt32LE(22);
    bitsPerPixel = buf.readUInt16LE(28);
    compression = buf.readUInt32LE(30);
    colorsUsed = buf.readUInt32LE(46);
  } else {
    throw new BmpError(`unsupported BMP header size ${headerSize}`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0) throw new BmpError(`BMP claims a zero or negative size ${width}x${height}`);
  if (![1, 2, 4, 8, 16, 24, 32].includes(bitsPerPixel)) throw new BmpError(`unsupported BMP bit depth ${bitsPerPixel}`);
  if (![BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression))
    throw new BmpError(`unsupported BMP compression ${compression} (embedded JPEG/PNG or OS/2 Huffman)`);
  if ((compression === BI_RLE8 && bitsPerPixel !== 8) || (compression === BI_RLE4 && bitsPerPixel !== 4))
    throw new BmpError(`BMP RLE compression ${compression} with ${bitsPerPixel} bits per pixel`);

  // Channel masks: in the header for V2+ (size >= 52), else right after a 40-byte header.
  let masks: [number, number, number, number] =
    bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0xff0000, 0x00ff00, 0x0000ff, 0];
  let paletteStart = 14 + headerSize;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    const at = headerSize >= 52 ? 54 : 14 + headerSize;
    const n = compression === BI_ALPHABITFIELDS || headerSize >= 56 ? 4 : 3;
    if (buf.length < at + 4 * n) throw new BmpError("BMP colour masks are truncated");
    masks = [
      buf.readUInt32LE(at),
      buf.readUInt32LE(at + 4),
      buf.readUInt32LE(at + 8),
      n === 4 ? buf.readUInt32LE(at + 12) : 0,
    ];
    if (headerSize < 52) paletteStart += 4 * n;
  } else if (headerSize >= 56 && bitsPerPixel === 32) {
    // A V3+ header carries an alpha mask even for BI_RGB; 32-bit BI_RGB otherwise means BGRX.
    const alpha = buf.readUInt32LE(66);
    if (alpha !== 0) masks = [masks[0], masks[1], masks[2], alpha];
  }

  const palette = new Uint8Array(bitsPerPixel <= 8 ? 3 << bitsPerPixel : 0);
  if (bitsPerPixel <= 8) {
    const entry = headerSize === 12 ? 3 : 4;
    const count = colorsUsed > 0 && colorsUsed <= 1 << bitsPerPixel ? colorsUsed : 1 << bitsPerPixel;
    for (let i = 0; i < count; i++) {
      const at = paletteStart + i * entry;
      if (at + 3 > buf.length || at + 3 > dataOffset) break; // short palettes exist; missing = black
      palette[i * 3] = buf[at + 2]!;
      palette[i * 3 + 1] = buf[at + 1]!;
      palette[i * 3 + 2] = buf[at]!;
    }
  }
  return {
    width,
    height,
    bitsPerPixel,
    compression,
    topDown,
    hasAlphaMask: masks[3] !== 0,
    headerSize,
    dataOffset,
    masks,
    palette,
  };
}

/**
 * Decodes the pixels to top-down raw samples. 24- and 32-bit images (nearly all BMPs) are
 * only copied row by row (native memcpy): their BGR(A) order is left for sharp to swap in its
 * thread pool (see bmpToSharp), so a 12-megapixel scan costs the event loop a few ms, not a
 * per-pixel JavaScript loop. Palette, RLE and 16-bit images are expanded here to RGB.
 */
export function decodeBmp(buf: Buffer): BmpPixels {
  const L = layout(buf);
  const { width, height, bitsPerPixel: bpp } = L;
  if (L.dataOffset >= buf.length) throw new BmpError("BMP pixel data is missing (file truncated)");
  const pal = L.palette;

  if (L.compression === BI_RLE8 || L.compression === BI_RLE4) {
    const idx = decodeRle(buf, L);
    const out = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      const row = (L.topDown ? y : height - 1 - y) * width;
      for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
        const c = idx[row + x]! * 3;
        out[o] = pal[c]!;
        out[o + 1] = pal[c + 1]!;
        out[o + 2] = pal[c + 2]!;
      }
    }
    return { data: out, width, height, channels: 3, bgr: false, alpha: false };
  }

  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (L.dataOffset + stride * height > buf.length)
    throw new BmpError(`BMP pixel data is truncated (${buf.length - L.dataOffset} of ${stride * height} bytes)`);
  const rowAt = (y: number) => L.dataOffset + (L.topDown ? y : height - 1 - y) * stride;
  const [rm, gm, bm, am] = L.masks;

  const bgr32 = bpp === 32 && rm === 0xff0000 && gm === 0xff00 && bm === 0xff && (am === 0 || am === 0xff000000);
  if (bpp === 24 || bgr32) {
    const rowBytes = (width * bpp) / 8;
    let data: Buffer;
    if (L.topDown && rowBytes === stride) {
      data = buf.subarray(L.dataOffset, L.dataOffset + rowBytes * height);
    } else {
      data = Buffer.allocUnsafe(rowBytes * height);
      for (let y = 0; y < height; y++) buf.copy(data, y * rowBytes, rowAt(y), rowAt(y) + rowBytes);
    }
    // An alpha mask whose values are all 0 is a writer that never filled it in: the image is
    // opaque, as browsers show it (a fully transparent picture is never what was meant).
    let alpha = false;
    if (bgr32 && am !== 0) {
      for (let i = 3; i < data.length; i += 4) {
        if (data[i] !== 0) {
          alpha = true;
          break;
        }
      }
    }
    return { data, width, height, channels: bpp === 24 ? 3 : 4, bgr: true, alpha };
  }

  const channels: 3 | 4 = L.hasAlphaMask ? 4 : 3;
  const out = Buffer.alloc(width * height * channels);
  const ch = [channel(rm), channel(gm), channel(bm), channel(am)] as const;
  let alpha = false;
  for (let y = 0; y < height; y++) {
    const row = rowAt(y);
    let o = y * width * channels;
    if (bpp <= 8) {
      const mask = (1 << bpp) - 1;
      for (let x = 0; x < width; x++, o += 3) {
        const bit = x * bpp;
        const c = ((buf[row + (bit >> 3)]! >> (8 - bpp - (bit & 7))) & mask) * 3;
        out[o] = pal[c]!;
        out[o + 1] = pal[c + 1]!;
        out[o + 2] = pal[c + 2]!;
      }
    } else {
      const bytes = bpp / 8;
      for (let x = 0, p = row; x < width; x++, p += bytes, o += channels) {
        const px = bpp === 16 ? buf.readUInt16LE(p) : buf.readUInt32LE(p);
        out[o] = ch[0](px);
        out[o + 1] = ch[1](px);
        out[o + 2] = ch[2](px);
        if (channels === 4) {
          out[o + 3] = ch[3](px);
          if (out[o + 3] !== 0) alpha = true;
        }
      }
    }
  }
  return { data: out, width, height, channels, bgr: false, alpha };
}

const SWAP_RB: sharp.Matrix3x3 = [
  [0, 0, 1],
  [0, 1, 0],
  [1, 0, 0],
];

/** A sharp pipeline over decoded BMP pixels: unused alpha dropped, BGR swapped to RGB. */
export function bmpToSharp(lib: Sharp, p: BmpPixels): sharp.Sharp {
  let img = lib(p.data, { raw: { width: p.width, height: p.height, channels: p.channels } });
  if (p.channels === 4 && !p.alpha) img = img.removeAlpha();
  // A 3x3 recomb leaves a 4th (alpha) channel as it is; the integer matrix is exact.
  if (p.bgr) img = img.recomb(SWAP_RB);
  return img;
}

/** An extractor for one mask, scaled to 0..255; a zero mask reads as 0. */
function channel(mask: number): (px: number) => number {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1 && bits < 32) bits++;
  const max = 2 ** bits - 1;
  if (bits === 8) return (px) => ((px & mask) >>> shift) & 0xff;
  return (px) => Math.round(((((px & mask) >>> 0) >>> shift) * 255) / max);
}

/** RLE8/RLE4 to one palette index per pixel, in file row order (row 0 = first stored row). */
function decodeRle(buf: Buffer, L: Layout): Uint8Array {
  const { width, height } = L;
  const rle4 = L.compression === BI_RLE4;
  const idx = new Uint8Array(width * height);
  let x = 0,
    y = 0,
    p = L.dataOffset;
  const put = (v: number) => {
    if (x < width && y < height) idx[y * width + x] = v;
    x++;
  };
  for (;;) {
    if (p + 2 > buf.length) throw new BmpError("BMP RLE data is truncated (no end-of-bitmap marker)");
    const n = buf[p++]!,
      v = buf[p++]!;
    if (n > 0) {
      for (let i = 0; i < n; i++) put(rle4 ? (i & 1 ? v & 0x0f : v >> 4) : v);
    } else if (v === 0) {
      x = 0;
      y++; // end of line
    } else if (v === 1) {
      break; // end of bitmap
    } else if (v === 2) {
      if (p + 2 > buf.length) throw new BmpError("BMP RLE data is truncated");
      x += buf[p++]!;
      y += buf[p++]!;
    } else {
      // Absolute run of v pixels, padded to a 16-bit boundary.
      const bytes = rle4 ? Math.ceil(v / 2) : v;
      if (p + bytes > buf.length) throw new BmpError("BMP RLE data is truncated");
      for (let i = 0; i < v; i++)
        put(rle4 ? (i & 1 ? buf[p + (i >> 1)]! & 0x0f : buf[p + (i >> 1)]! >> 4) : buf[p + i]!);
      p += bytes + (bytes & 1);
    }
    if (y >= height) break;
  }
  return idx;
}
