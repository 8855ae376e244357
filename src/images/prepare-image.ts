import type sharp from "sharp";
import { ErrorCodes, VlmError } from "../errors.js";
import { BmpError, bmpToSharp, decodeBmp } from "./bmp.js";
import type { ImageFormat, ImageOptions } from "./options.js";
import { type ImagePlan, type OutputFormat, planImage } from "./plan-image.js";
import { pngDecodeProblem } from "./png-verify.js";
import { HEIC_HINT, type ImageInfo, probeImage, sharpMessage } from "./probe-image.js";
import { loadSharp, type Sharp } from "./sharp-lib.js";
import { MIME_OF_FORMAT } from "./sniff-mime.js";

/** An image ready to send: its bytes, mime type and what was done to it. */
export type PreparedImage = {
  bytes: Buffer;
  mime: string;
  format: ImageFormat;
  width: number;
  height: number;
  /** False when `bytes` are the input's own bytes, untouched. */
  changed: boolean;
  /** Why it was re-encoded (empty when unchanged). */
  reasons: string[];
};

// Quality is lowered in these steps before any downscaling, and never below the floor:
// under ~50 JPEG ringing makes small text in charts and scans unreadable.
const QUALITY_STEP = 15;
const QUALITY_FLOOR = 50;
const MAX_ATTEMPTS = 12;

/**
 * Checks and, if the options ask for it, re-encodes one image held in memory.
 * All pixel work runs in sharp's (libuv) thread pool. The event loop only sees the BMP
 * reader's row copies (memcpy speed; palette and 16-bit BMPs take a JavaScript loop).
 * Throws VlmError IMAGE_DECODE (not an image, corrupt, truncated, zero-sized) or
 * IMAGE_TOO_LARGE (over max_input_pixels, or does not fit max_bytes), naming `label`.
 */
export async function prepareImage(bytes: Buffer, label: string, options: ImageOptions): Promise<PreparedImage> {
  const info = await probeImage(bytes, label, options.max_input_pixels);
  const plan = planImage(info, options, bytes.length);
  if (plan.action === "keep") {
    if (options.verify === "decode") await verifyDecode(bytes, info, label, options);
    return {
      bytes,
      mime: MIME_OF_FORMAT[info.format],
      format: info.format,
      width: info.width,
      height: info.height,
      changed: false,
      reasons: [],
    };
  }
  const out = await encodeWithinBudget(bytes, info, plan, label, options);
  return { ...out, mime: MIME_OF_FORMAT[out.format], changed: true, reasons: plan.reasons };
}

/**
 * Decodes every pixel once without keeping them, so a truncated or corrupt file fails here as
 * PIL would fail it in the server. A PNG's image data is inflated with node's zlib and its
 * scanlines checked (png-verify.ts): no sharp for it. For the rest, sharp: the tiny resize lets
 * JPEG and WebP decode at 1/8 scale (entropy data is still read to the end, so truncation is
 * still caught) and keeps memory flat: libvips streams the image through the shrink.
 */
async function verifyDecode(bytes: Buffer, info: ImageInfo, label: string, o: ImageOptions): Promise<void> {
  if (info.format === "bmp") {
    bmpPixels(bytes, label);
    return;
  }
  if (info.format === "png") {
    const problem = await pngDecodeProblem(bytes);
    if (problem) {
      const hint = problem.truncated ? " (the file is truncated)" : "";
      throw new VlmError(
        ErrorCodes.IMAGE_DECODE,
        `${label}: cannot decode png ${info.width}x${info.height}: ${problem.reason}${hint}`,
      );
    }
    return;
  }
  // HEIC (HEVC) is kept only on request; sharp's prebuilt libvips has no HEVC decoder, so its
  // header check is all we can do.
  if (info.format === "heic") return;
  try {
    await source(await loadSharp(), bytes, o)
      .resize(32, 32, { fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer();
  } catch (e) {
    throw decodeError(e, info, label);
  }
}

async function encodeWithinBudget(
  bytes: Buffer,
  info: ImageInfo,
  plan: Extract<ImagePlan, { action: "encode" }>,
  label: string,
  o: ImageOptions,
): Promise<{ bytes: Buffer; format: OutputFormat; width: number; height: number }> {
  const lib = await loadSharp();
  // BMP is decoded once here; sharp takes the raw pixels for each attempt.
  const bmp = info.format === "bmp" ? bmpPixels(bytes, label) : undefined;
  const lossy = plan.format !== "png";
  let quality = o.quality;
  let { width, height } = plan;
  let resize = plan.resize;
  // The smallest output tried, for the message: a downscale can come out larger than the
  // full-size encoding (resampling adds detail that PNG and JPEG compress worse).
  let smallest = { bytes: Infinity, width, height, quality };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let img = bmp ? bmpToSharp(lib, bmp) : source(lib, bytes, o);
    // autoOrient applies the EXIF rotation and drops the tag (see planImage).
    img = img.autoOrient();
    if (resize) img = img.resize(width, height, { fit: "fill", kernel: "lanczos3" });
    if (plan.flatten) img = img.flatten({ background: o.background });
    // sRGB 8-bit out: converts CMYK through its ICC profile (or a built-in one), maps 16-bit to
    // 8-bit, and any embedded profile to sRGB. Greyscale stays one channel (webp has none).
    img = img.toColourspace(info.grey && plan.format !== "webp" ? "b-w" : "srgb");
    img =
      plan.format === "png"
        ? img.png({ compressionLevel: 6 })
        : plan.format === "jpeg"
          ? img.jpeg({ quality })
          : img.webp({ quality });
    let out: Buffer;
    try {
      out = await img.toBuffer();
    } catch (e) {
      throw decodeError(e, info, label);
    }
    if (o.max_bytes === null || out.length <= o.max_bytes) return { bytes: out, format: plan.format, width, height };
    if (out.length < smallest.bytes) smallest = { bytes: out.length, width, height, quality };
    if (lossy && quality > QUALITY_FLOOR) {
      quality = Math.max(QUALITY_FLOOR, quality - QUALITY_STEP);
      continue;
    }
    // Encoded size is roughly proportional to the pixel count: aim a little under the budget,
    // shrinking at least 10% per step (fixed overheads do not scale) and at most 80%.
    const f = Math.min(0.9, Math.max(0.2, Math.sqrt(o.max_bytes / out.length) * 0.95));
    const w = Math.floor(width * f);
    const h = Math.floor(height * f);
    // Never below min_edge: a smaller image is one the server may crash on (vllm#17769).
    if (Math.min(w, h) < (o.min_edge ?? 1)) break;
    width = w;
    height = h;
    resize = true;
  }
  throw new VlmError(
    ErrorCodes.IMAGE_TOO_LARGE,
    `${label}: cannot fit the image in max_bytes ${o.max_bytes} as ${plan.format} (smallest try: ${smallest.bytes} bytes at ${smallest.width}x${smallest.height}${lossy ? `, quality ${smallest.quality}` : ""})`,
  );
}

/**
 * sharp on the input bytes: first frame/page only (what PIL hands vLLM), the pixel limit
 * enforced again by libvips, and failOn "error": truncated or corrupt data is refused
 * (PIL refuses it too), while libjpeg's warnings such as extraneous bytes are tolerated
 * (PIL tolerates them, and "warning", sharp's default, would fail images vLLM accepts).
 */
function source(lib: Sharp, bytes: Buffer, o: ImageOptions): sharp.Sharp {
  return lib(bytes, { failOn: "error", limitInputPixels: o.max_input_pixels, pages: 1 });
}

function bmpPixels(bytes: Buffer, label: string) {
  try {
    return decodeBmp(bytes);
  } catch (e) {
    if (e instanceof BmpError) throw new VlmError(ErrorCodes.IMAGE_DECODE, `${label}: cannot decode bmp: ${e.message}`);
    throw e;
  }
}

function decodeError(e: unknown, info: ImageInfo, label: string): VlmError {
  const msg = sharpMessage(e);
  if (/pixel limit/i.test(msg)) return new VlmError(ErrorCodes.IMAGE_TOO_LARGE, `${label}: ${msg}`, { cause: e });
  const hint =
    info.format === "heic"
      ? HEIC_HINT
      : /end of stream|premature end|truncat|unexpected end|out of data/i.test(msg)
        ? " (the file is truncated)"
        : "";
  return new VlmError(
    ErrorCodes.IMAGE_DECODE,
    `${label}: cannot decode ${info.format} ${info.width}x${info.height}: ${msg}${hint}`,
    { cause: e },
  );
}
