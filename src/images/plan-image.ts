import { type ImageOptions, normalizeSteps } from "./options.js";
import type { ImageInfo } from "./probe-image.js";

export type OutputFormat = "png" | "jpeg" | "webp";

/** What to do with one image: send its bytes as they are, or re-encode them, and why. */
export type ImagePlan =
  | { action: "keep"; reasons: [] }
  | {
      action: "encode";
      /** Why re-encoding is needed, for logs and tests ("format tiff is not in keep_formats"). */
      reasons: string[];
      format: OutputFormat;
      /** Output size, after EXIF orientation (always applied when re-encoding: see below). */
      width: number;
      height: number;
      resize: boolean;
      /** Flatten transparency on the background (JPEG output, or normalize alpha). */
      flatten: boolean;
    };

/**
 * Decides, from the header alone, whether an image can go out untouched. Pure: no I/O.
 *
 * When it is re-encoded, EXIF orientation is always applied: the output carries no EXIF, so
 * upright pixels are the only way to keep what the file shows. (vLLM's PIL loader ignores the
 * tag, which is why a kept JPEG keeps it and `normalize: [orientation]` is opt-in.)
 */
export function planImage(info: ImageInfo, options: ImageOptions, byteLength: number): ImagePlan {
  const steps = normalizeSteps(options);
  const reasons: string[] = [];
  if (!options.keep_formats.includes(info.format)) reasons.push(`format ${info.format} is not in keep_formats`);
  if (steps.has("orientation") && info.orientation !== 1)
    reasons.push(`normalize orientation: EXIF orientation ${info.orientation}`);
  if (steps.has("cmyk") && info.space === "cmyk") reasons.push("normalize cmyk: CMYK colour space");
  if (steps.has("16bit") && info.highBitDepth) reasons.push("normalize 16bit: more than 8 bits per sample");
  if (steps.has("animated") && info.pages > 1) reasons.push(`normalize animated: ${info.pages} frames, first one kept`);
  if (steps.has("alpha") && info.hasAlpha) reasons.push("normalize alpha: transparency flattened");
  if (options.encode !== "keep" && options.encode !== info.format)
    reasons.push(`encode ${options.encode}: input is ${info.format}`);
  if (options.max_bytes !== null && byteLength > options.max_bytes)
    reasons.push(`max_bytes: ${byteLength} bytes is over ${options.max_bytes}`);

  const swap = info.orientation >= 5 && info.orientation <= 8;
  const w0 = swap ? info.height : info.width;
  const h0 = swap ? info.width : info.height;
  const { width, height, why } = targetSize(w0, h0, options);
  if (why) reasons.push(why);

  if (reasons.length === 0) return { action: "keep", reasons: [] };
  const format: OutputFormat =
    options.encode !== "keep" ? options.encode : info.format === "jpeg" || info.format === "webp" ? info.format : "png";
  return {
    action: "encode",
    reasons,
    format,
    width,
    height,
    resize: width !== w0 || height !== h0,
    flatten: info.hasAlpha && (format === "jpeg" || steps.has("alpha")),
  };
}

/**
 * The size that satisfies max_pixels / min_pixels / min_edge, aspect ratio kept.
 * max_pixels wins over the minimums: it is the memory and token bound.
 */
export function targetSize(
  w: number,
  h: number,
  o: Pick<ImageOptions, "max_pixels" | "min_pixels" | "min_edge">,
): { width: number; height: number; why?: string } {
  const area = w * h;
  if (o.max_pixels !== null && area > o.max_pixels) {
    const s = Math.sqrt(o.max_pixels / area);
    // floor keeps the product under the bound; never below one pixel.
    return {
      width: Math.max(1, Math.floor(w * s)),
      height: Math.max(1, Math.floor(h * s)),
      why: `max_pixels: ${w}x${h} is over ${o.max_pixels} pixels`,
    };
  }
  let up = 1;
  const why: string[] = [];
  if (o.min_pixels !== null && area < o.min_pixels) {
    up = Math.sqrt(o.min_pixels / area);
    why.push(`min_pixels: ${w}x${h} is under ${o.min_pixels} pixels`);
  }
  if (o.min_edge !== null && Math.min(w, h) < o.min_edge) {
    up = Math.max(up, o.min_edge / Math.min(w, h));
    why.push(`min_edge: shorter edge of ${w}x${h} is under ${o.min_edge}`);
  }
  if (up <= 1) return { width: w, height: h };
  // ceil so the minimums hold; fall back to floor if that crosses max_pixels.
  let W = Math.ceil(w * up - 1e-9);
  let H = Math.ceil(h * up - 1e-9);
  if (o.max_pixels !== null && W * H > o.max_pixels) {
    const s = Math.min(up, Math.sqrt(o.max_pixels / area));
    W = Math.max(1, Math.floor(w * s));
    H = Math.max(1, Math.floor(h * s));
  }
  return { width: W, height: H, why: why.join("; ") };
}
