import { exifOrientation } from "./exif-orientation.js";
import type { ImageInfo } from "./probe-image.js";

/**
 * JPEG header reader: what sharp's metadata() says about a JPEG, without loading sharp (libvips
 * costs ~80 ms and tens of MB at start-up, before the first request can go out).
 *
 * sharp reads the header with libjpeg (mozjpeg, through libvips): every marker segment up to
 * the first SOS. This reader walks the same segments and checks what libjpeg checks there, so
 * that it never answers for a file sharp would refuse:
 * - SOF0, SOF1 or SOF2 (baseline, extended, progressive) with 8-bit samples: 1 component is
 *   b-w, 3 srgb, 4 cmyk (with or without an Adobe APP14 marker, whatever its transform: libjpeg
 *   converts YCCK to CMYK and libvips reports cmyk); never alpha, one page;
 * - DHT, DQT and DRI segments are checked as libjpeg checks them (table ids, lengths);
 * - the SOS segment must name components of the frame;
 * - the orientation comes from the first APP1 segment starting "Exif" (see exif-orientation.ts).
 *
 * Anything else returns null and probeImage asks sharp, so the answer, or the refusal and its
 * message, is sharp's own: truncated files, SOS before SOF, sizes of 0 or over libjpeg's 65500,
 * bad sampling factors, unknown markers, fill or stray bytes between segments, two Exif APP1
 * segments, and rarities sharp accepts but this reader leaves to it: 12- and 16-bit JPEG (which
 * sharp's metadata() reports as 8-bit sRGB, then fails to decode), lossless and arithmetic-coded
 * JPEG, 2 or 5+ components. Nothing is allocated from a length field; the walk stops at 10,000
 * segments.
 */
export function readJpegHeader(b: Uint8Array): ImageInfo | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let frame: { width: number; height: number; ids: number[] } | undefined;
  let exif: Uint8Array | undefined;
  let exifSegments = 0;
  let p = 2;
  for (let n = 0; n < MAX_SEGMENTS; n++) {
    // Each segment starts right after the previous one: FF, marker, 2-byte length (counting
    // itself). libjpeg skips stray bytes and repeated FFs with a warning; those files go to sharp.
    if (p + 4 > b.length || b[p] !== 0xff) return null;
    const marker = b[p + 1]!;
    const length = (b[p + 2]! << 8) | b[p + 3]!;
    const data = p + 4;
    const end = p + 2 + length;
    if (length < 2 || end > b.length) return null;
    const seg = b.subarray(data, end);
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (frame) return null; // two SOF markers
      frame = readFrame(seg);
      if (!frame) return null;
    } else if (marker === 0xc4) {
      if (!validDht(seg)) return null;
    } else if (marker === 0xdb) {
      if (!validDqt(seg)) return null;
    } else if (marker === 0xdd) {
      if (length !== 4) return null;
    } else if (marker === 0xda) {
      if (!frame || !validScan(seg, frame.ids)) return null;
      return info(frame, exifSegments > 1 ? null : exif ? orientation(exif) : 1);
    } else if (marker === 0xe1) {
      if (seg.length >= 4 && seg[0] === 0x45 && seg[1] === 0x78 && seg[2] === 0x69 && seg[3] === 0x66) {
        exifSegments++;
        exif ??= seg;
      }
    } else if (!(marker >= 0xe0 && marker <= 0xef) && marker !== 0xfe) {
      // Other SOFn, DAC, DNL, JPGn, a second SOI, EOI, RSTn, TEM, reserved: sharp decides.
      return null;
    }
    p = end;
  }
  return null;
}

const MAX_SEGMENTS = 10_000;
/** libjpeg's JPEG_MAX_DIMENSION: larger is an error. */
const MAX_DIMENSION = 65500;

/** SOF payload: precision, height, width, component count, then 3 bytes per component. */
function readFrame(s: Uint8Array): { width: number; height: number; ids: number[] } | undefined {
  if (s.length < 6) return undefined;
  const height = (s[1]! << 8) | s[2]!;
  const width = (s[3]! << 8) | s[4]!;
  const count = s[5]!;
  if (s[0] !== 8 || !(count === 1 || count === 3 || count === 4) || s.length !== 6 + 3 * count) return undefined;
  if (width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) return undefined;
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = s[6 + 3 * i]!;
    const h = s[7 + 3 * i]! >> 4;
    const v = s[7 + 3 * i]! & 0x0f;
    if (ids.includes(id) || h < 1 || h > 4 || v < 1 || v > 4) return undefined;
    ids.push(id);
  }
  return { width, height, ids };
}

/** SOS payload: 1 to 4 components, each a frame component at most once, 3 more bytes. */
function validScan(s: Uint8Array, ids: number[]): boolean {
  const count = s[0] ?? 0;
  if (count < 1 || count > 4 || s.length !== 4 + 2 * count) return false;
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = s[1 + 2 * i]!;
    if (!ids.includes(id) || seen.includes(id)) return false;
    seen.push(id);
  }
  return true;
}

/** DHT as libjpeg reads it: tables of class 0/1, id 0-3, at most 256 codes, no bytes left over. */
function validDht(s: Uint8Array): boolean {
  let p = 0;
  while (s.length - p > 16) {
    const id = s[p]!;
    let codes = 0;
    for (let i = 1; i <= 16; i++) codes += s[p + i]!;
    p += 17;
    if (codes > 256 || codes > s.length - p) return false;
    if ((id & 0x10 ? id - 0x10 : id) > 3) return false;
    p += codes;
  }
  return p === s.length;
}

/** DQT as libjpeg reads it: tables of 8- or 16-bit entries, id 0-3, no bytes left over. */
function validDqt(s: Uint8Array): boolean {
  let p = 0;
  while (p < s.length) {
    const precision = s[p]! >> 4;
    if ((s[p]! & 0x0f) > 3 || precision > 1) return false;
    p += 1 + 64 * (precision + 1);
  }
  return p === s.length;
}

/** The orientation from the first Exif APP1 payload: libexif needs "Exif\0\0", else none. */
function orientation(app1: Uint8Array): number | null {
  return app1.length >= 6 && app1[4] === 0 && app1[5] === 0 ? exifOrientation(app1.subarray(6)) : 1;
}

function info(frame: { width: number; height: number; ids: number[] }, orientation: number | null): ImageInfo | null {
  if (orientation === null) return null;
  const components = frame.ids.length;
  return {
    format: "jpeg",
    width: frame.width,
    height: frame.height,
    orientation,
    pages: 1,
    space: components === 1 ? "b-w" : components === 3 ? "srgb" : "cmyk",
    channels: components,
    highBitDepth: false,
    hasAlpha: false,
    grey: components === 1,
  };
}
