import { z } from "zod";
import { timerSeconds } from "../util/timer-seconds.js";

/** Containers an image can arrive in (what the bytes are, never what the name says). */
export const IMAGE_FORMATS = ["png", "jpeg", "webp", "gif", "tiff", "bmp", "avif", "heic"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** Pixel properties that `normalize` can fix in images that would otherwise be sent as they are. */
export const NORMALIZE_STEPS = ["orientation", "cmyk", "16bit", "animated", "alpha"] as const;
export type NormalizeStep = (typeof NORMALIZE_STEPS)[number];

/** A list given as an array or, from a `++image.x=a,b` override, as a comma-separated string. */
function listOf<T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(z.enum(values)),
  );
}

const size = z.number().int().positive();

/**
 * Image handling options (prompt config `image:` block and `++image.*` overrides).
 *
 * The defaults reproduce what vLLM saw from NeMo-Skills: PNG, JPEG, WebP and GIF bytes are
 * sent exactly as they are on disk, so parity runs do not change unless the user asks. The
 * only default conversions are of containers that OpenAI-style servers reject (TIFF, BMP,
 * AVIF/HEIC); they become lossless PNG, so a vLLM server (PIL opens TIFF and BMP itself) still
 * sees the same pixels.
 */
export const ImageOptionsSchema = z
  .object({
    // ---- which images are changed at all ----

    /** Formats sent untouched when nothing else asks for a change. The list is what the
     *  OpenAI API documents (png, jpeg, webp, non-animated gif), which every OpenAI-compatible
     *  server accepts; vLLM's PIL loader also opens tiff and bmp: add them for byte parity. */
    keep_formats: listOf(IMAGE_FORMATS).default(["png", "jpeg", "webp", "gif"]),
    /** Also re-encode kept formats whose pixels servers read differently: `true` = all steps,
     *  or a list of orientation (apply EXIF rotation), cmyk, 16bit, animated (first frame),
     *  alpha (flatten on `background`). Off: PIL in vLLM ignores EXIF rotation and reads CMYK,
     *  16-bit and animations in its own way, and parity means the model sees that too. */
    normalize: z
      .preprocess(
        (v) => (v === "true" ? true : v === "false" ? false : v),
        z.union([z.boolean(), listOf(NORMALIZE_STEPS)]),
      )
      .default(false),
    /** Colour that transparent pixels are flattened on (JPEG output, or normalize alpha).
     *  White, as vLLM's own RGBA->RGB conversion (rgba_to_rgb, media_io_kwargs default). */
    background: z
      .string()
      .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, "background must be a hex colour like #ffffff or #fff")
      .default("#ffffff"),

    // ---- checks ----

    /** Largest width*height decoded; bigger is a row error (IMAGE_TOO_LARGE), read from the
     *  header before any pixel is decoded. 178956970 is PIL's DecompressionBombError threshold
     *  (2 * Image.MAX_IMAGE_PIXELS), the point where vLLM itself refuses the image: we refuse
     *  nothing vLLM would take, and a 20000x20000 bomb never reaches memory. */
    max_input_pixels: size.default(178_956_970),
    /** decode: every image is decoded once (sharp's thread pool) so a truncated or corrupt file
     *  fails its row here, as PIL would fail it in the server. header: only the header is read
     *  (faster for huge trusted sets; a truncated file then reaches the server). */
    verify: z.enum(["decode", "header"]).default("decode"),

    // ---- bounds and encoding (off by default: parity) ----

    /** Downscale (Lanczos3, aspect ratio kept) images with more pixels than this. null: off. */
    max_pixels: size.nullable().default(null),
    /** Upscale images with fewer pixels than this. null: off. */
    min_pixels: size.nullable().default(null),
    /** Upscale so the shorter edge is at least this; 28 avoids Qwen-VL's "height:.. or width:..
     *  must be larger than factor:28" (vllm-project/vllm#17769, #15080). null: off. */
    min_edge: size.nullable().default(null),
    /** Budget in bytes for each encoded image (before base64, which adds a third): over it, the
     *  quality is lowered (jpeg, webp; not below 50) and then the image is downscaled until it
     *  fits, else IMAGE_TOO_LARGE. null: off. */
    max_bytes: size.nullable().default(null),
    /** Output format. keep: the input's own format when re-encoding is needed (gif and the
     *  formats not in keep_formats become png). png/jpeg/webp: every image is sent in that
     *  format; an image already in it with nothing else to change is still sent untouched. */
    encode: z.enum(["keep", "png", "jpeg", "webp"]).default("keep"),
    /** JPEG and WebP quality when re-encoding. 90: text in charts and scans stays legible;
     *  sharp's default 80 blurs small print. */
    quality: z.number().int().min(1).max(100).default(90),

    // ---- remote images ----

    /** Download http(s) images and send them as data URLs (and check them like local files).
     *  Off: the URL is passed through and the server downloads it, as NeMo-Skills does. */
    fetch: z.boolean().default(false),
    /** Seconds for one download attempt, headers and body. 30: generous next to vLLM's own
     *  5 s (VLLM_IMAGE_FETCH_TIMEOUT) because a failed download fails the row. */
    fetch_timeout: timerSeconds().default(30),
    /** Largest download in bytes; bigger is IMAGE_TOO_LARGE. 64 MiB bounds memory per
     *  download and is far above any benchmark image. */
    fetch_max_bytes: size.default(64 * 1024 * 1024),
    /** Extra attempts after a network error, timeout, 408, 425, 429, 500, 502, 503 or 504 (backoff 0.5 s, 1 s, ...;
     *  Retry-After honoured up to 30 s). Other 4xx are not retried. */
    fetch_retries: z.number().int().min(0).max(10).default(2),

    // ---- cache ----

    /** Bytes of data URLs kept in memory (LRU) so an image used by several seeds or rows is
     *  read and encoded once. 256 MiB holds a few hundred typical benchmark images; 0: off
     *  (concurrent requests for the same image still share one read). */
    cache_bytes: z
      .number()
      .int()
      .min(0)
      .default(256 * 1024 * 1024),
    /** Folder where the verdicts of the checks (and re-encoded or downloaded bytes) are kept,
     *  so that other processes and resumed runs check and encode each image once: the seeds and
     *  chunks of an eval are separate jobs. `vlmpipe eval` uses `<output_dir>/image-cache`;
     *  null (generate's default): memory only. Safe to delete at any time. */
    cache_dir: z.string().min(1).nullable().default(null),
  })
  .strict();

export type ImageOptions = z.infer<typeof ImageOptionsSchema>;

/** The normalize steps in force, as a set (normalize: true = all of them). */
export function normalizeSteps(options: Pick<ImageOptions, "normalize">): ReadonlySet<NormalizeStep> {
  const n = options.normalize;
  return new Set(n === true ? NORMALIZE_STEPS : n === false ? [] : n);
}

/**
 * The options without the cache settings (cache_bytes, cache_dir), which never change what is
 * sent: for cache keys and the run spec. Takes any record, so a run spec written by an earlier
 * build (which kept cache_bytes) is compared the same way.
 */
export function withoutCacheSettings<T extends Record<string, unknown>>(o: T): Omit<T, "cache_bytes" | "cache_dir"> {
  const { cache_bytes: _bytes, cache_dir: _dir, ...rest } = o;
  return rest;
}
