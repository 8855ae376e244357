import { stat } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { ImageMode, ReportImage } from "./types.js";

export type ReportImageOptions = {
  mode: ImageMode;
  /** Folder relative references are read from; without it they show a placeholder. */
  baseDir?: string;
  /** Folder of the report file: links are relative to it. */
  reportDir: string;
  /** Longest edge of an embedded thumbnail, in pixels. */
  thumbnailSize: number;
};

/**
 * Turns a row's image references into what the page shows, at most `concurrency` images decoded
 * at once (thumbnails of thousands of rows are made one small batch at a time, never all in
 * memory as full images). A reference used by several rows is read once.
 */
export function imageResolver(opts: ReportImageOptions, concurrency = 4) {
  const cache = new Map<string, Promise<ReportImage>>();
  let active = 0;
  const waiting: (() => void)[] = [];
  const slot = async <T>(f: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await f();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
  return (ref: string): Promise<ReportImage> => {
    let p = cache.get(ref);
    if (p === undefined) {
      p = slot(() => resolveImage(ref, opts));
      cache.set(ref, p);
    }
    return p;
  };
}

async function resolveImage(ref: string, opts: ReportImageOptions): Promise<ReportImage> {
  const label = shortLabel(ref);
  if (opts.mode === "none") return { label, note: "images left out (--images none)" };
  if (/^data:image\//i.test(ref)) {
    // Self-contained already; shrink it so one large data URL does not bloat the page.
    const comma = ref.indexOf(",");
    const bytes = /;base64$/i.test(ref.slice(0, comma)) ? Buffer.from(ref.slice(comma + 1), "base64") : undefined;
    if (comma < 0 || bytes === undefined) return { label, note: "unsupported data URL" };
    return thumbnailOf(bytes, label, opts.thumbnailSize);
  }
  if (/^https?:\/\//i.test(ref)) {
    return opts.mode === "link"
      ? { label, src: ref }
      : { label, note: "remote image: not embedded (use --images link)" };
  }
  const file = localPath(ref, opts.baseDir);
  if (file === undefined) return { label, note: "image folder unknown: pass --data_dir" };
  try {
    if (!(await stat(file)).isFile()) return { label, note: `not a file: ${file}` };
  } catch {
    return { label, note: `not found: ${file}` };
  }
  if (opts.mode === "link") return { label, src: relativeUrl(opts.reportDir, file) };
  return thumbnailOf(file, label, opts.thumbnailSize);
}

async function thumbnailOf(input: string | Buffer, label: string, size: number): Promise<ReportImage> {
  try {
    const jpeg = await sharp(input, { failOn: "none" })
      .rotate()
      .resize(size, size, { fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .jpeg({ quality: 80, mozjpeg: true })
      .toBuffer();
    return { label, src: `data:image/jpeg;base64,${jpeg.toString("base64")}` };
  } catch (e) {
    return { label, note: `unreadable image (${(e as Error).message})` };
  }
}

/** Absolute references stay; relative ones are under baseDir (undefined without one). A file: URL is a path. */
function localPath(ref: string, baseDir: string | undefined): string | undefined {
  if (/^file:\/\//i.test(ref)) {
    try {
      return new URL(ref).pathname;
    } catch {
      return undefined;
    }
  }
  if (path.isAbsolute(ref)) return ref;
  return baseDir === undefined ? undefined : path.resolve(baseDir, ref);
}

/**
 * A URL from the report's folder to a file: each segment percent-encoded, so a name holding `:`,
 * `#` or `?` stays a relative path (never read as a scheme such as `javascript:`).
 */
export function relativeUrl(fromDir: string, file: string): string {
  const rel = path.relative(path.resolve(fromDir), path.resolve(file));
  return rel.split(path.sep).map(encodeURIComponent).join("/");
}

function shortLabel(ref: string): string {
  if (!ref.startsWith("data:")) return ref;
  const comma = ref.indexOf(",");
  return `${ref.slice(0, Math.min(comma < 0 ? 40 : comma + 1, 40))}... (${ref.length} chars)`;
}
