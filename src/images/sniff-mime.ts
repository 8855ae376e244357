import type { ImageFormat } from "./options.js";

export const MIME_OF_FORMAT: Record<ImageFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  tiff: "image/tiff",
  bmp: "image/bmp",
  avif: "image/avif",
  heic: "image/heic",
};

/**
 * The image format from a file's first bytes; the name is never trusted. Only the formats
 * vlmpipe handles are recognised: SVG, PDF and the like are "not an image" on purpose
 * (PIL in vLLM cannot open them, and rendering them can reach outside the file).
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return "gif";
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") return "webp";
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return "bmp";
  if (
    b.length >= 4 &&
    ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) ||
      (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a))
  )
    return "tiff";
  if (b.length >= 12 && ascii(b, 4, 8) === "ftyp") return heifBrand(b);
  return null;
}

/** The image mime type from a file's first bytes, or null. */
export function sniffImageMime(bytes: Uint8Array): string | null {
  const f = sniffImageFormat(bytes);
  return f === null ? null : MIME_OF_FORMAT[f];
}

// ISO-BMFF: major brand at 8..12, compatible brands from 16 to the end of the ftyp box.
// `mif1`/`msf1` are generic HEIF brands used by both AVIF and HEIC; the compatible list decides.
function heifBrand(b: Uint8Array): ImageFormat | null {
  const major = ascii(b, 8, 12);
  if (major === "avif" || major === "avis") return "avif";
  if (/^he(ic|ix|vc|vx|im|is|vm|vs)$/.test(major)) return "heic";
  if (major !== "mif1" && major !== "msf1") return null;
  const boxSize = Math.min(b.length, ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
  for (let i = 16; i + 4 <= boxSize; i += 4) {
    if (ascii(b, i, i + 4).startsWith("avi")) return "avif";
  }
  return "heic";
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}
