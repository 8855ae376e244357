import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type ErrorCode, ErrorCodes } from "../errors.js";

/** What checking an image decided, as remembered on disk. */
export type ImageVerdict =
  /** Send the source's own bytes (they passed every check), as this mime type. */
  | { kind: "keep"; mime: string }
  /** Send these bytes (re-encoded, or downloaded: the source is not on disk). */
  | { kind: "bytes"; mime: string; bytes: Buffer }
  /** The image is refused, and will be again: decode errors and size limits. */
  | { kind: "error"; code: ErrorCode; message: string };

export type DiskImageCacheStats = {
  /** Lookups answered from disk: no sharp work, no download. */
  hits: number;
  /** Lookups that found nothing (or an unreadable entry): the image was checked anew. */
  misses: number;
  writes: number;
  /** Entries that could not be written (full disk, permissions): the run goes on without them. */
  writeErrors: number;
  firstWriteError?: string;
};

export interface DiskImageCache {
  readonly dir: string;
  get(key: string): Promise<ImageVerdict | undefined>;
  /** Never throws: the cache only saves work, so a failed write costs the next run a re-check. */
  put(key: string, verdict: ImageVerdict): Promise<void>;
  stats(): DiskImageCacheStats;
}

// Bumped whenever the entry format or what a verdict means changes; old entries then miss.
// 2: PNGs cut after their last scanline pass (PIL decodes them); refusals under 1 may be wrong.
const FORMAT = 2;
/** Errors that depend only on the bytes and the options, so they are worth remembering. */
const LASTING_ERRORS: ReadonlySet<string> = new Set([ErrorCodes.IMAGE_DECODE, ErrorCodes.IMAGE_TOO_LARGE]);

export function isLastingImageError(code: string): boolean {
  return LASTING_ERRORS.has(code);
}

type Header = {
  v: number;
  key: string;
  kind: ImageVerdict["kind"];
  mime?: string;
  length?: number;
  code?: string;
  message?: string;
};

/**
 * Verdicts of the image checks kept in a folder, so that the processes of one eval (a job per
 * seed or chunk, locally or on Slurm nodes sharing the folder) and a resumed run check and
 * re-encode each image once. Keys name the content (path + size + mtime, URL, or data URL
 * digest) and the options; images sent as they are cost one small entry, re-encoded or
 * downloaded ones keep their bytes.
 *
 * One file per entry, `<dir>/<2 hex>/<sha256 of key>`: a JSON header line, then the bytes.
 * Written to a temporary name and renamed, so readers (other processes included) see a whole
 * entry or none; two processes missing at once both write the same verdict, last one wins.
 * The header repeats the key, so a hash collision or a foreign file is a miss, not a wrong image.
 */
export function createDiskImageCache(dir: string): DiskImageCache {
  const root = path.resolve(dir);
  const s: DiskImageCacheStats = { hits: 0, misses: 0, writes: 0, writeErrors: 0 };
  const fileOf = (key: string) => {
    const h = createHash("sha256").update(key).digest("hex");
    return path.join(root, h.slice(0, 2), h.slice(2));
  };

  return {
    dir: root,
    async get(key) {
      const v = await readEntry(fileOf(key), key);
      if (v) s.hits++;
      else s.misses++;
      return v;
    },
    async put(key, verdict) {
      const file = fileOf(key);
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      try {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(tmp, encodeEntry(key, verdict));
        await rename(tmp, file);
        s.writes++;
      } catch (e) {
        s.writeErrors++;
        s.firstWriteError ??= (e as Error).message;
        await rm(tmp, { force: true }).catch(() => undefined);
      }
    },
    stats: () => ({ ...s }),
  };
}

function encodeEntry(key: string, v: ImageVerdict): Buffer {
  const h: Header = { v: FORMAT, key, kind: v.kind };
  if (v.kind === "error") Object.assign(h, { code: v.code, message: v.message });
  else h.mime = v.mime;
  if (v.kind === "bytes") h.length = v.bytes.length;
  const head = Buffer.from(`${JSON.stringify(h)}\n`);
  return v.kind === "bytes" ? Buffer.concat([head, v.bytes]) : head;
}

/** The entry's verdict, or undefined when it is missing, foreign, of another format or damaged. */
async function readEntry(file: string, key: string): Promise<ImageVerdict | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch {
    return undefined;
  }
  const nl = buf.indexOf(10);
  if (nl < 0) return undefined;
  let h: Header;
  try {
    h = JSON.parse(buf.subarray(0, nl).toString("utf8")) as Header;
  } catch {
    return undefined;
  }
  if (h.v !== FORMAT || h.key !== key) return undefined;
  if (h.kind === "keep" && typeof h.mime === "string") return { kind: "keep", mime: h.mime };
  if (h.kind === "error" && typeof h.code === "string" && LASTING_ERRORS.has(h.code) && typeof h.message === "string") {
    return { kind: "error", code: h.code as ErrorCode, message: h.message };
  }
  if (h.kind === "bytes" && typeof h.mime === "string") {
    const bytes = buf.subarray(nl + 1);
    if (bytes.length === h.length) return { kind: "bytes", mime: h.mime, bytes };
  }
  return undefined;
}
