import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCodes, VlmError } from "../errors.js";
import { type DiskImageCache, isLastingImageError } from "./disk-cache.js";
import { fetchImage, redactUrl } from "./fetch-image.js";
import type { ImageCache } from "./image-cache.js";
import { type ImageOptions, withoutCacheSettings } from "./options.js";
import { prepareImage } from "./prepare-image.js";
import { RecentRefs } from "./recent-refs.js";
import { type FileStat, STAT_WINDOW_MS, StatWindow } from "./stat-window.js";

/** The two file-system calls resolveImage makes; injectable for tests and virtual file systems. */
export type ImageFs = {
  stat(file: string): Promise<FileStat>;
  readFile(file: string): Promise<Buffer>;
};

export type ResolveContext = {
  /** Folder relative paths are resolved against (the input JSONL's folder, or --data_dir). */
  baseDir: string;
  options: ImageOptions;
  /** The run's cache (createImageCache); without it every call reads and encodes. */
  cache?: ImageCache;
  /** Verdicts kept on disk (createDiskImageCache), shared by the processes of an eval and by
   *  resumed runs: an image is checked and re-encoded once, whichever process meets it first. */
  disk?: DiskImageCache;
  /** Abandons the wait (VlmError ABORTED). Work shared with other rows through the cache goes
   *  on for them: it is bounded by fetch_timeout and the pixel limits anyway. */
  signal?: AbortSignal;
  fs?: ImageFs;
  /**
   * With a cache: ms one stat of a file stands for it (StatWindow; default 1 s). A file changed
   * during a run is sent as it is now at most this long after the change.
   */
  statWindowMs?: number;
};

const nodeFs: ImageFs = { stat, readFile };

/**
 * Turns an image reference from a row into the URL for an `image_url` content part.
 * - http(s): passed through, or with `fetch: true` downloaded and treated like a local file.
 * - local path (relative to baseDir, absolute, or file://) and data: URLs: read, checked with
 *   sharp (see prepareImage) and sent as a base64 data URL whose mime type comes from the bytes.
 *   With the default options PNG/JPEG/WebP/GIF bytes go out untouched.
 * Results are cached by content identity: path + size + mtime (no read needed to know it is
 * the same file; with a cache, one stat per file per `statWindowMs`), the URL for remote and data: images, always with a hash of the options;
 * in memory (`cache`, data URLs) and, with `disk`, as verdicts on disk: an image met again in
 * another process is then only read (or not even that, when re-encoded or downloaded).
 * Throws VlmError IMAGE_NOT_FOUND, IMAGE_READ, IMAGE_DECODE, IMAGE_TOO_LARGE, IMAGE_FETCH, ABORTED.
 *
 * Base64 uses Buffer.toString("base64"): native and fast enough that even a 20 MB scan holds
 * the event loop only briefly; a worker hand-off would copy the buffer and cost about as much.
 */
export async function resolveImage(ref: string, ctx: ResolveContext): Promise<string> {
  const { options: o, signal } = ctx;
  if (signal?.aborted) throw new VlmError(ErrorCodes.ABORTED, `image ${shortRef(ref)}: aborted`);
  const opts = optionsKey(o);

  if (/^https?:\/\//i.test(ref)) {
    if (!o.fetch) return ref;
    const label = redactUrl(ref);
    const key = `url\0${ref}\0${opts}`;
    // Without a cache the caller's signal can stop the download itself; with one the download
    // may be shared, so each caller only stops waiting. Downloads are kept whole on disk.
    return cached(ctx, key, (sig) =>
      checkOnce(ctx, key, async () => ({ bytes: await fetchImage(ref, o, sig), label }), true),
    );
  }

  if (/^data:/i.test(ref)) {
    const digest = createHash("sha1").update(ref).digest("hex");
    const key = `data\0${digest}\0${opts}`;
    return cached(ctx, key, () => checkOnce(ctx, key, async () => parseDataUrl(ref), false));
  }

  const fs = ctx.fs ?? nodeFs;
  const file = localPath(ref, ctx.baseDir);
  const { at, st } = await statLocal(fs, file, ref, ctx);
  const key = `file\0${file}\0${st.size}\0${st.mtimeMs}\0${st.ino ?? ""}\0${st.ctimeMs ?? ""}\0${opts}`;
  if (ctx.cache) windowsOf(ctx.cache, ctx).refs.remember(refKey(ref, ctx), at, key);
  return cached(ctx, key, () =>
    checkOnce(ctx, key, async () => ({ bytes: await readLocal(fs, file, ref), label: file }), false, st.size),
  );
}

/**
 * The URL for `ref` when it is known now, without any I/O or promise: an http(s) URL passed
 * through as it is, or a local file resolved within its stat window whose data URL the cache
 * still holds (the same answer resolveImage would give). Otherwise undefined: resolveImage
 * does the work. Rows whose images were all resolved moments ago then skip the async step.
 */
export function resolveImageNow(ref: string, ctx: ResolveContext): string | undefined {
  if (/^https?:\/\//i.test(ref)) return ctx.options.fetch ? undefined : ref;
  const cache = ctx.cache;
  if (!cache?.peek || /^data:/i.test(ref)) return undefined;
  const key = windowsOf(cache, ctx).refs.key(refKey(ref, ctx), performance.now());
  return key === undefined ? undefined : cache.peek(key);
}

/**
 * The data URL for one image: from its verdict on disk when there is one (no sharp work),
 * else checked and prepared (prepareImage) and the verdict remembered. `keepBytes`: store the
 * bytes even when they are sent untouched (downloads: the source is not on disk). `size`: the
 * file's size when it was stat'ed for the key.
 */
async function checkOnce(
  ctx: ResolveContext,
  key: string,
  load: () => Promise<{ bytes: Buffer; label: string }>,
  keepBytes: boolean,
  size?: number,
): Promise<string> {
  const disk = ctx.disk;
  const known = disk ? await disk.get(key) : undefined;
  if (known?.kind === "error") throw new VlmError(known.code, known.message);
  if (known?.kind === "bytes") return dataUrl(known.mime, known.bytes);
  const { bytes, label } = await load();
  // A "keep" verdict sends the bytes unchecked, so they must be the ones it was given for: a
  // file rewritten between its stat and this read has another size (and is checked here, its
  // verdict left to the stat that names it).
  const same = size === undefined || bytes.length === size;
  if (known && same) return dataUrl(known.mime, bytes);
  let img: Awaited<ReturnType<typeof prepareImage>>;
  try {
    img = await prepareImage(bytes, label, ctx.options);
  } catch (e) {
    // A download's refusal is not kept: the URL names no content, and a page served in its place
    // (a rate limit, a login) would be refused for good.
    if (disk && same && !keepBytes && e instanceof VlmError && isLastingImageError(e.code))
      await disk.put(key, { kind: "error", code: e.code, message: e.message });
    throw e;
  }
  if (disk && same) {
    await disk.put(
      key,
      img.changed || keepBytes ? { kind: "bytes", mime: img.mime, bytes: img.bytes } : { kind: "keep", mime: img.mime },
    );
  }
  return dataUrl(img.mime, img.bytes);
}

function dataUrl(mime: string, bytes: Buffer): string {
  return `data:${mime};base64,${bytes.toString("base64")}`;
}

function cached(ctx: ResolveContext, key: string, make: (signal?: AbortSignal) => Promise<string>): Promise<string> {
  if (!ctx.cache) return make(ctx.signal);
  const p = ctx.cache.get(key, () => make());
  return ctx.signal ? raceAbort(p, ctx.signal) : p;
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new VlmError(ErrorCodes.ABORTED, "image resolution aborted"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function localPath(ref: string, baseDir: string): string {
  if (/^file:/i.test(ref)) {
    try {
      return fileURLToPath(ref); // decodes %20 and friends, unlike URL.pathname
    } catch (e) {
      throw new VlmError(ErrorCodes.IMAGE_READ, `bad file URL "${ref}": ${(e as Error).message}`);
    }
  }
  return path.resolve(baseDir, ref);
}

// One StatWindow (and the refs resolved within it) per run's cache: they are as long-lived as
// the cache keys they feed.
const windows = new WeakMap<ImageCache, { stats: StatWindow; refs: RecentRefs }>();

function windowsOf(cache: ImageCache, ctx: ResolveContext): { stats: StatWindow; refs: RecentRefs } {
  let w = windows.get(cache);
  if (!w) {
    const ms = ctx.statWindowMs ?? STAT_WINDOW_MS;
    windows.set(cache, (w = { stats: new StatWindow(ms), refs: new RecentRefs(ms) }));
  }
  return w;
}

/** What RecentRefs knows a local reference by: the same text means another file under another folder. */
function refKey(ref: string, ctx: ResolveContext): string {
  return `${ctx.baseDir}\0${optionsKey(ctx.options)}\0${ref}`;
}

function statOf(fs: ImageFs, file: string, ctx: ResolveContext): { at: number; stat: Promise<FileStat> } {
  if (!ctx.cache) return { at: performance.now(), stat: fs.stat(file) };
  return windowsOf(ctx.cache, ctx).stats.get(file, (f) => fs.stat(f));
}

async function statLocal(fs: ImageFs, file: string, ref: string, ctx: ResolveContext) {
  try {
    const { at, stat } = statOf(fs, file, ctx);
    const st = await stat;
    if (st.isDirectory()) throw new VlmError(ErrorCodes.IMAGE_READ, `image path is a directory: ${file}`);
    // A FIFO or device would block or never end a read.
    if (!st.isFile()) throw new VlmError(ErrorCodes.IMAGE_READ, `image path is not a regular file: ${file}`);
    return { at, st };
  } catch (e) {
    throw fsError(e, file, ref);
  }
}

async function readLocal(fs: ImageFs, file: string, ref: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw fsError(e, file, ref);
  }
}

function fsError(e: unknown, file: string, ref: string): VlmError {
  if (e instanceof VlmError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR")
    return new VlmError(ErrorCodes.IMAGE_NOT_FOUND, `image not found: ${file} (from "${ref}")`);
  return new VlmError(ErrorCodes.IMAGE_READ, `cannot read image ${file}: ${(e as Error).message}`, { cause: e });
}

/** data:[<mime>][;base64],<payload>; the declared mime is ignored (the bytes decide). */
function parseDataUrl(ref: string): { bytes: Buffer; label: string } {
  const comma = ref.indexOf(",");
  if (comma < 0) throw new VlmError(ErrorCodes.IMAGE_DECODE, `${shortRef(ref)}: malformed data URL (no comma)`);
  const head = ref.slice(5, comma);
  const payload = ref.slice(comma + 1);
  let bytes: Buffer;
  if (/;base64$/i.test(head)) {
    bytes = Buffer.from(payload, "base64");
  } else {
    try {
      bytes = Buffer.from(decodeURIComponent(payload), "latin1");
    } catch {
      throw new VlmError(ErrorCodes.IMAGE_DECODE, `${shortRef(ref)}: malformed data URL (bad percent-encoding)`);
    }
  }
  return { bytes, label: `data URL (${head || "no type"}, ${bytes.length} bytes)` };
}

function shortRef(ref: string): string {
  return ref.length > 80 ? `${ref.slice(0, 77)}...` : ref;
}

// Same options, same output: the hash goes into every key so a cache shared by prompts with
// different `image:` blocks never mixes their results. The cache settings do not change an output.
const optionHashes = new WeakMap<ImageOptions, string>();
function optionsKey(o: ImageOptions): string {
  let h = optionHashes.get(o);
  if (h === undefined) {
    const rest = withoutCacheSettings(o);
    const stable = JSON.stringify(rest, Object.keys(rest).sort());
    h = createHash("sha1").update(stable).digest("hex").slice(0, 16);
    optionHashes.set(o, h);
  }
  return h;
}
