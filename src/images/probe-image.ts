import type sharp from "sharp";
import { ErrorCodes, VlmError } from "../errors.js";
import { BmpError, readBmpHeader } from "./bmp.js";
import { readJpegHeader } from "./jpeg-header.js";
import type { ImageFormat } from "./options.js";
import { readPngHeader } from "./png-header.js";
import { loadSharp } from "./sharp-lib.js";
import { sniffImageFormat } from "./sniff-mime.js";

/** What the header says about an image; no pixel has been decoded yet. */
export type ImageInfo = {
  format: ImageFormat;
  /** Stored size of the first frame/page, before EXIF orientation. */
  width: number;
  height: number;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
  /** Frames (animated GIF/WebP) or pages (TIFF); 1 for a still image. */
  pages: number;
  /** sharp's colour interpretation: srgb, cmyk, b-w, grey16, rgb16, ... */
  space: string;
  channels: number;
  /** More than 8 bits per sample (16-bit PNG/TIFF, float TIFF). */
  highBitDepth: boolean;
  hasAlpha: boolean;
  /** Greyscale (with or without alpha): kept grey when re-encoded, a third of the bytes. */
  grey: boolean;
};

/**
 * Reads an image's header and refuses what must not be decoded: empty files, bytes that are
 * not one of the known formats, zero sizes, and more pixels than `maxInputPixels` (a
 * decompression bomb is stopped here, before sharp allocates anything).
 * Throws VlmError IMAGE_DECODE or IMAGE_TOO_LARGE naming `label` (the file or URL).
 */
export async function probeImage(bytes: Buffer, label: string, maxInputPixels: number): Promise<ImageInfo> {
  if (bytes.length === 0) throw new VlmError(ErrorCodes.IMAGE_DECODE, `${label}: not an image (empty file, 0 bytes)`);
  const format = sniffImageFormat(bytes);
  if (format === null) {
    throw new VlmError(
      ErrorCodes.IMAGE_DECODE,
      `${label}: not an image (the bytes are not PNG, JPEG, GIF, WebP, BMP, TIFF, AVIF or HEIC; they start with ${JSON.stringify(preview(bytes))})`,
    );
  }
  const info =
    format === "bmp" ? bmpInfo(bytes, label) : (ownHeader(bytes, format) ?? (await sharpInfo(bytes, format, label)));
  if (!(info.width > 0 && info.height > 0)) {
    throw new VlmError(
      ErrorCodes.IMAGE_DECODE,
      `${label}: ${format} header claims a zero size ${info.width}x${info.height}`,
    );
  }
  const pixels = info.width * info.height;
  if (pixels > maxInputPixels) {
    throw new VlmError(
      ErrorCodes.IMAGE_TOO_LARGE,
      `${label}: ${format} of ${info.width}x${info.height} = ${pixels} pixels is over max_input_pixels ${maxInputPixels} (a possible decompression bomb; raise image.max_input_pixels if the image is genuine)`,
    );
  }
  return info;
}

/**
 * PNG and JPEG headers are read here, without sharp, so that a run whose images go out as they
 * are never loads it when they are PNGs (verify: decode checks those with zlib), or PNG, JPEG
 * and BMP with verify: header: sharp and libvips cost ~80 ms and tens of MB before the first
 * request. The readers give exactly sharpInfo's answer, or null for anything unusual or
 * malformed, which sharp then reads, or refuses with its own message as before.
 */
function ownHeader(bytes: Buffer, format: ImageFormat): ImageInfo | null {
  if (format === "png") return readPngHeader(bytes);
  if (format === "jpeg") return readJpegHeader(bytes);
  return null;
}

function bmpInfo(bytes: Buffer, label: string): ImageInfo {
  try {
    const h = readBmpHeader(bytes);
    return {
      format: "bmp",
      width: h.width,
      height: h.height,
      orientation: 1,
      pages: 1,
      space: "srgb",
      channels: h.hasAlphaMask ? 4 : 3,
      highBitDepth: false,
      hasAlpha: h.hasAlphaMask,
      grey: false,
    };
  } catch (e) {
    if (e instanceof BmpError)
      throw new VlmError(ErrorCodes.IMAGE_DECODE, `${label}: cannot read the bmp header: ${e.message}`);
    throw e;
  }
}

/** The header as sharp reads it: every format but BMP, and the PNG/JPEG files the readers leave to it. */
export async function sharpInfo(bytes: Buffer, sniffed: ImageFormat, label: string): Promise<ImageInfo> {
  let m: sharp.Metadata;
  try {
    // No pixel limit here: the header is read either way, and our own check below gives a
    // message with the size in it instead of sharp's generic one.
    m = await (await loadSharp())(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new VlmError(
      ErrorCodes.IMAGE_DECODE,
      `${label}: cannot read the ${sniffed} header: ${sharpMessage(e)}${sniffed === "heic" ? HEIC_HINT : ""}`,
      {
        cause: e,
      },
    );
  }
  // For HEIF containers the codec decides: AV1 is AVIF (sharp decodes it), HEVC is HEIC.
  const format: ImageFormat = m.format === "heif" ? (m.compression === "av1" ? "avif" : "heic") : sniffed;
  const depth = String(m.depth ?? "uchar");
  const space = String(m.space ?? "srgb");
  return {
    format,
    width: m.width ?? 0,
    height: m.height ?? 0,
    orientation: m.orientation ?? 1,
    pages: m.pages ?? 1,
    space,
    channels: m.channels ?? 3,
    highBitDepth: (depth !== "uchar" && depth !== "char") || (m.bitsPerSample ?? 8) > 8,
    hasAlpha: m.hasAlpha ?? false,
    grey: space === "b-w" || space === "grey16",
  };
}

function preview(bytes: Buffer): string {
  return bytes
    .subarray(0, 16)
    .toString("latin1")
    .replace(/[^\x20-\x7e]/g, ".");
}

export const HEIC_HINT =
  " (HEIC needs an HEVC decoder, which sharp's prebuilt libvips does not have: convert the file to PNG or JPEG, or send it as it is with keep_formats: [..., heic] if the server reads HEIC)";

/** libvips messages can run to many lines (one per retried seek): keep the first and the last. */
export function sharpMessage(e: unknown): string {
  const lines = String((e as Error)?.message ?? e)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length <= 2 ? lines.join("; ") : `${lines[0]} ... ${lines[lines.length - 1]}`;
}
