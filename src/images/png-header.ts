import { crc32 } from "./crc32.js";
import { exifOrientation } from "./exif-orientation.js";
import type { ImageInfo } from "./probe-image.js";

/**
 * PNG header reader: what sharp's metadata() says about a PNG, without loading sharp (libvips
 * costs ~80 ms and tens of MB at start-up, before the first request can go out).
 *
 * sharp reads PNG with libspng (through libvips), up to the first IDAT chunk. Its answers are
 * reproduced here, field by field, and so are the spng rules that change them:
 * - a critical chunk (IHDR, PLTE) with a bad CRC is an error; an ancillary one (tRNS, eXIf)
 *   with a bad CRC is dropped, so a tRNS with a bad CRC means no alpha;
 * - an invalid ancillary chunk (tRNS of the wrong length or before PLTE, an eXIf that is not
 *   TIFF) is dropped, and a second tRNS or eXIf after a first one is ignored even when the
 *   first was dropped for its CRC (an eXIf even when dropped for anything);
 * - tRNS on grey, RGB or palette adds an alpha channel (channels + 1), as libvips decodes it;
 * - 16 bits gives grey16 / rgb16; 1, 2 and 4-bit grey are b-w 8-bit, like 8-bit grey;
 * - acTL (APNG) is a chunk spng does not know: sharp 0.34 reports an APNG as one page, and so
 *   does this reader (vLLM's PIL also sees the first frame only);
 * - an eXIf chunk before IDAT gives the orientation (see exif-orientation.ts); after IDAT it is
 *   not read.
 *
 * Anything else, or anything it cannot read safely (truncated, IHDR not first, bad lengths,
 * unknown critical chunk, over libvips' limits), returns null and probeImage asks sharp. That
 * keeps today's behaviour exactly where sharp refuses the file: the same error message, from
 * sharp itself. Nothing is allocated from a length field; the walk stops at 10,000 chunks.
 */
export function readPngHeader(b: Uint8Array): ImageInfo | null {
  if (b.length < 8 + 25 || !SIGNATURE.every((v, i) => b[i] === v)) return null;
  if (u32(b, 8) !== 13 || type(b, 12) !== "IHDR") return null;
  const width = u32(b, 16);
  const height = u32(b, 20);
  const depth = b[24]!;
  const colour = b[25]!;
  if (width === 0 || height === 0 || width > MAX_COORD || height > MAX_COORD) return null;
  if (!(DEPTHS[colour] ?? []).includes(depth) || b[26] !== 0 || b[27] !== 0 || b[28]! > 1) return null;
  if (crc32(b, 12, 29) !== u32(b, 29)) return null;

  let palette = -1; // entries of the PLTE chunk; -1 before it
  let plteMustBeFirst = false; // a tRNS, bKGD or hIST was seen: spng refuses a PLTE after one
  let trnsSeen = false;
  let trns = false;
  let exifSeen = false;
  let exif: Uint8Array | undefined;
  let stored = 0; // text, eXIf and sPLT chunks: spng refuses more than 1000
  let cache = 0; // an upper bound of what spng stores for them, decompressed
  let p = 33;
  for (let n = 0; ; n++) {
    if (n >= MAX_CHUNKS || p + 8 > b.length) return null;
    const length = u32(b, p);
    const t = type(b, p + 4);
    if (length > 0x7fffffff || !/^[A-Za-z]{4}$/.test(t)) return null;
    if (t === "IDAT") {
      if (colour === 3 && palette < 0) return null;
      break;
    }
    const data = p + 8;
    const end = data + length;
    if (end + 4 > b.length) return null;
    const crcOk = () => crc32(b, p + 4, end) === u32(b, end);
    if ((b[p + 4]! & 0x20) === 0) {
      // Critical: only one PLTE is read here (spng takes a second one, rare enough to leave to it).
      if (t !== "PLTE" || palette >= 0 || plteMustBeFirst) return null;
      if (length === 0 || length % 3 !== 0 || length / 3 > 256) return null;
      if (colour === 3 && length / 3 > 1 << depth) return null;
      if (!crcOk()) return null;
      palette = length / 3;
    } else if (t === "tRNS") {
      plteMustBeFirst = true;
      const valid =
        length > 0 &&
        (colour === 0 ? length === 2 : colour === 2 ? length === 6 : colour === 3 && palette >= 0 && length <= palette);
      if (!trnsSeen && valid) {
        trnsSeen = true;
        trns = crcOk();
      }
    } else if (t === "bKGD" || t === "hIST") {
      plteMustBeFirst = true;
    } else if (t === "eXIf") {
      // sharp reads a zero-length eXIf as no EXIF, but whether spng then ignores a later eXIf
      // was not checked: left to sharp. Over 1 MB, libvips' own EXIF limits apply: sharp again.
      if (length === 0 || length > 1 << 20) return null;
      stored++;
      cache += length;
      if (!exifSeen) {
        exifSeen = true;
        const isTiff = length >= 4 && (ascii(b, data, 4) === "II*\0" || ascii(b, data, 4) === "MM\0*");
        if (isTiff && crcOk()) exif = b.subarray(data, end);
      }
    } else if (t === "tEXt" || t === "zTXt" || t === "iTXt" || t === "sPLT") {
      stored++;
      cache += compressed(b, t, data, length) ? length * INFLATE_MAX + 1024 : 2 * length + 1024;
    } else if (t === "iCCP") {
      cache += length * INFLATE_MAX + 1024;
    }
    if (stored > MAX_STORED || cache > MAX_CACHE) return null;
    p = end + 4;
  }

  let orientation = 1;
  if (exif) {
    const o = exifOrientation(exif);
    if (o === null) return null;
    orientation = o;
  }
  const grey = colour === 0 || colour === 4;
  const hasAlpha = colour === 4 || colour === 6 || trns;
  const high = depth === 16;
  return {
    format: "png",
    width,
    height,
    orientation,
    pages: 1,
    space: grey ? (high ? "grey16" : "b-w") : high ? "rgb16" : "srgb",
    channels: (grey ? 1 : 3) + (hasAlpha ? 1 : 0),
    highBitDepth: high,
    hasAlpha,
    grey,
  };
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Bit depths allowed per colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA). */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** libvips' image size limit for spng (VIPS_MAX_COORD): a wider or taller PNG is an error. */
const MAX_COORD = 100_000_000;
const MAX_CHUNKS = 10_000;
/** spng's limits are 1000 stored chunks and 60 MB stored; half of each keeps well clear. */
const MAX_STORED = 500;
const MAX_CACHE = 30 * 1024 * 1024;
/** deflate's largest expansion: what a compressed chunk may grow to, at most. */
const INFLATE_MAX = 1032;

/** Whether a text chunk's payload may be compressed: zTXt always, iTXt by its flag. */
function compressed(b: Uint8Array, t: string, data: number, length: number): boolean {
  if (t === "zTXt") return true;
  if (t !== "iTXt") return false;
  const nul = b.subarray(data, data + Math.min(length, 80)).indexOf(0);
  return nul < 0 || nul + 1 >= length || b[data + nul + 1] !== 0;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function type(b: Uint8Array, at: number): string {
  return ascii(b, at, 4);
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}
