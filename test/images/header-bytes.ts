import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { expect } from "vitest";
import { crc32 } from "../../src/images/crc32.js";
import { readJpegHeader } from "../../src/images/jpeg-header.js";
import { readPngHeader } from "../../src/images/png-header.js";
import { type ImageInfo, probeImage, sharpInfo } from "../../src/images/probe-image.js";

// Builders for the header reader tests (png-header, jpeg-header): PNG chunks and JPEG segments
// by hand, for what sharp cannot write, and the two checks every case ends with.

type Format = "png" | "jpeg";

const read = (bytes: Buffer, format: Format) => (format === "png" ? readPngHeader(bytes) : readJpegHeader(bytes));

/** The reader answers, and its answer is sharp's, field by field. */
export async function expectSame(bytes: Buffer, format: Format): Promise<ImageInfo> {
  const ours = read(bytes, format);
  expect(ours, "the reader left this file to sharp").not.toBeNull();
  expect(ours).toEqual(await sharpInfo(bytes, format, "x"));
  return ours!;
}

/**
 * The reader leaves the file to sharp (null), and probeImage then gives exactly what sharp
 * gives: the same ImageInfo, or the same refusal. Returns sharp's verdict.
 */
export async function expectLeftToSharp(bytes: Buffer, format: Format): Promise<ImageInfo | string> {
  expect(read(bytes, format)).toBeNull();
  const verdict = (p: Promise<ImageInfo>) =>
    p.then(
      (info) => info,
      (e: Error) => `${(e as { code?: string }).code}: ${e.message}`,
    );
  const viaSharp = await verdict(sharpInfo(bytes, format, "x"));
  expect(await verdict(probeImage(bytes, "x", Number.MAX_SAFE_INTEGER))).toEqual(viaSharp);
  return viaSharp;
}

// ---- PNG ----

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One chunk: length, type, data, CRC (`badCrc` flips its last bit). */
export function chunk(type: string, data: Uint8Array = Buffer.alloc(0), badCrc = false): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE((crc32(out, 4, 8 + data.length) ^ (badCrc ? 1 : 0)) >>> 0, 8 + data.length);
  return out;
}

export function ihdr(width: number, height: number, depth: number, colour: number, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = depth;
  d[9] = colour;
  d[12] = interlace;
  return chunk("IHDR", d);
}

const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Zeroed, filter-0 pixel rows, deflated: a real IDAT for width x height at depth/colour. */
export function idat(width: number, height: number, depth: number, colour: number): Buffer {
  const row = 1 + Math.ceil((width * SAMPLES[colour]! * depth) / 8);
  return chunk("IDAT", deflateSync(Buffer.alloc(row * height)));
}

/** A whole PNG: signature, IHDR, `before` (chunks before IDAT), IDAT, `after`, IEND. */
export function pngFile(
  width: number,
  height: number,
  depth: number,
  colour: number,
  before: Buffer[] = [],
  after: Buffer[] = [],
): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, depth, colour),
    ...before,
    idat(width, height, depth, colour),
    ...after,
    chunk("IEND"),
  ]);
}

// ---- EXIF (TIFF) ----

/** A TIFF-structured EXIF block with one IFD0 of [tag, type, count, inline value] entries. */
export function tiff(
  entries: [number, number, number, number][],
  opts: { bigEndian?: boolean; ifd1?: typeof entries } = {},
) {
  const le = !opts.bigEndian;
  const ifd1 = opts.ifd1 ?? [];
  const b = Buffer.alloc(8 + 2 + entries.length * 12 + 4 + (ifd1.length ? 2 + ifd1.length * 12 + 4 : 0));
  const w16 = (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const w32 = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const ifd = (list: typeof entries, at: number) => {
    w16(list.length, at);
    list.forEach(([tag, type, count, value], i) => {
      const e = at + 2 + i * 12;
      w16(tag, e);
      w16(type, e + 2);
      w32(count, e + 4);
      if (type === 3) w16(value, e + 8);
      else w32(value, e + 8);
    });
    return at + 2 + list.length * 12;
  };
  b.write(le ? "II" : "MM", 0, "latin1");
  w16(42, 2);
  w32(8, 4);
  const next = ifd(entries, 8);
  if (ifd1.length) {
    w32(next + 4, next);
    ifd(ifd1, next + 4);
  }
  return b;
}

/** EXIF with IFD0 holding only Orientation = `value` (SHORT). */
export const orientationTiff = (value: number, bigEndian = false) => tiff([[0x0112, 3, 1, value]], { bigEndian });

// ---- JPEG ----

export type Segments = { segments: [number, Buffer][]; scan: Buffer; rest: Buffer };

/** A JPEG taken apart at its markers, up to the SOS segment; `rest` is the entropy data onwards. */
export function splitJpeg(b: Buffer): Segments {
  const segments: [number, Buffer][] = [];
  let p = 2;
  for (;;) {
    const marker = b[p + 1]!;
    const length = b.readUInt16BE(p + 2);
    const payload = Buffer.from(b.subarray(p + 4, p + 2 + length));
    if (marker === 0xda) return { segments, scan: payload, rest: b.subarray(p + 2 + length) };
    segments.push([marker, payload]);
    p += 2 + length;
  }
}

export function segment(marker: number, payload: Uint8Array): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

export function joinJpeg(s: Segments): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    ...s.segments.map(([m, p]) => segment(m, p)),
    segment(0xda, s.scan),
    s.rest,
  ]);
}

/** A copy of `jpeg` changed by `edit` on its segments. */
export function editJpeg(jpeg: Buffer, edit: (s: Segments) => void): Buffer {
  const s = splitJpeg(jpeg);
  edit(s);
  return joinJpeg(s);
}

/** The index of the frame (SOFn) segment. */
export const sofIndex = (s: Segments) =>
  s.segments.findIndex(([m]) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc);

/** An 8x6 JPEG made by sharp: sRGB by default, or in `space` (b-w, cmyk). */
export function sharpJpeg(options: sharp.JpegOptions = {}, space?: string): Promise<Buffer> {
  let img = sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 200, g: 30, b: 40 } } });
  if (space) img = img.toColourspace(space);
  return img.jpeg(options).toBuffer();
}

// ---- mutants ----

/**
 * `count` seeded mutants of `seeds` (see mutants): the reader must never throw, and where it
 * answers, its answer must be sharp's. Returns how many it answered.
 */
export async function mutantsAgreeWithSharp(seeds: Buffer[], count: number, format: Format): Promise<number> {
  let answered = 0;
  await mutants(seeds, count, format === "png", async (bytes) => {
    const ours = read(bytes, format);
    if (ours === null) return;
    answered++;
    expect(ours).toEqual(await sharpInfo(bytes, format, "x"));
  });
  return answered;
}

/** Seeded mutants of `seeds`: bit flips, byte sets, cuts, insertions, deletions, repeats. */
async function mutants(
  seeds: Buffer[],
  count: number,
  png: boolean,
  check: (bytes: Buffer) => Promise<void>,
): Promise<void> {
  let state = 0x9e3779b9;
  const rand = (n: number) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const bytesOfNote = [
    0, 1, 2, 3, 4, 6, 8, 16, 0x13, 0x20, 0x2a, 0x45, 0x49, 0x4d, 0x80, 0xc0, 0xc4, 0xda, 0xdb, 0xe1, 0xff,
  ];
  for (let i = 0; i < count; i++) {
    let b: Buffer = Buffer.from(seeds[rand(seeds.length)]!);
    // Mutate the header part, where the readers look.
    const limit = Math.max(1, png ? b.indexOf("IDAT") + 8 : b.indexOf(Buffer.from([0xff, 0xda])) + 16);
    for (let k = 1 + rand(3); k > 0; k--) {
      const at = rand(Math.min(limit, b.length) || 1);
      const op = rand(7);
      if (op === 0) b[at] = b[at]! ^ (1 << rand(8));
      else if (op === 1) b[at] = bytesOfNote[rand(bytesOfNote.length)]!;
      else if (op === 2) b[at] = rand(256);
      else if (op === 3) b = b.subarray(0, at);
      else if (op === 4)
        b = Buffer.concat([b.subarray(0, at), Buffer.from([bytesOfNote[rand(bytesOfNote.length)]!]), b.subarray(at)]);
      else if (op === 5) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + rand(30)), b.subarray(at)]);
    }
    // Most PNG mutants get their CRCs fixed, or nearly all would stop at the first CRC.
    if (png && rand(10) < 7) b = fixCrcs(b);
    await check(b);
  }
}

function fixCrcs(src: Buffer): Buffer {
  const b = Buffer.from(src);
  for (let p = 8; p + 12 <= b.length; ) {
    const length = b.readUInt32BE(p);
    if (p + 12 + length > b.length) break;
    b.writeUInt32BE(crc32(b, p + 4, p + 8 + length), p + 8 + length);
    p += 12 + length;
  }
  return b;
}
