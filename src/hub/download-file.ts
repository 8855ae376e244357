/**
 * One hub file to one local path, resumable across failures and across processes.
 *
 * Bytes go to `<dest>.incomplete`; a failed attempt leaves what arrived there and the next
 * attempt (or the next run) asks for the rest with `Range: bytes=<size on disk>-`. When the
 * size is reached the file is checked against the tree API's sha256 (or git oid), synced
 * and renamed onto `dest`, so a file at `dest` is always complete and a rerun skips it.
 *
 * Why undici and not @huggingface/hub's `downloadFile`: that returns a Blob. For xet-backed
 * files (most of the hub since 2025) it is an XetBlob speaking the xet CAS protocol; with
 * `xet: false` it is a WebBlob whose `slice(offset).stream()` does send a Range header but
 * (1) does not check for a 206, so a server or proxy that ignores Range would have the whole
 * file appended to the partial one, and (2) reduces a failed response to a message string
 * (`writable.abort(error.message)`), losing the status a retry decision needs. The resolve
 * URL it downloads from (`/{type}s/{repo}/resolve/{rev}/{path}`) is the same one used here.
 */
import { type FileHandle, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { ErrorCodes, VlmError } from "../errors.js";
import { sleep } from "../util/sleep.js";
import type { HubConfig } from "./config.js";
import { fmtSeconds, getFollowingRedirects, headerValue } from "./http.js";
import { encodePath, type HubFile, type RepoType } from "./list-files.js";
import { createProgress, type Progress, stderrLog } from "./progress.js";
import {
  abortError,
  backoffDelay,
  DEFAULT_RETRY,
  describeFailure,
  isRetryable,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
} from "./retry.js";
import { verifyFile } from "./verify.js";

export type DownloadHubFileOptions = {
  repo: string;
  repoType?: RepoType;
  revision?: string;
  file: HubFile;
  dest: string;
  hub: HubConfig;
  retry?: RetryOptions;
  progress?: Progress;
  /** Shown in progress lines instead of the repo path, e.g. "(2/4) vision/test-...". */
  label?: string;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  bodyTimeoutMs?: number;
};

export type DownloadResult = {
  path: string;
  /** The file was already complete at `dest`. */
  skipped: boolean;
  /** Bytes received over the network by this call. */
  received: number;
  /** Byte offset of the first request (non-zero when a partial file was resumed). */
  resumedFrom: number;
  /** Requests made for the body, retries included. */
  attempts: number;
};

export function resolveUrl(hub: HubConfig, repo: string, repoType: RepoType, revision: string, path: string): string {
  const prefix = repoType === "model" ? "" : `${repoType}s/`;
  return `${hub.hubUrl}/${prefix}${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

export async function downloadHubFile(opts: DownloadHubFileOptions): Promise<DownloadResult> {
  const { file, dest, signal } = opts;
  const retry = opts.retry ?? DEFAULT_RETRY;
  const progress = opts.progress ?? createProgress({ log: stderrLog });
  const label = opts.label ?? file.path;
  const partial = `${dest}.incomplete`;

  if ((await sizeOf(dest)) === file.size && (await stillListed(dest, file))) {
    progress.skip(label, file.size);
    return { path: dest, skipped: true, received: 0, resumedFrom: 0, attempts: 0 };
  }
  await mkdir(dirname(dest), { recursive: true });

  let onDisk = (await sizeOf(partial)) ?? 0;
  if (onDisk > file.size) {
    await rm(partial, { force: true });
    onDisk = 0;
  }
  const resumedFrom = onDisk;
  const url = resolveUrl(opts.hub, opts.repo, opts.repoType ?? "dataset", opts.revision ?? "main", file.path);
  const fp = progress.file(label, file.size, onDisk);
  let received = 0;
  let attempts = 0;
  let failures = 0;
  let restartedAfterMismatch = false;

  for (;;) {
    if (signal?.aborted) throw abortError();
    onDisk = (await sizeOf(partial)) ?? 0;
    if (onDisk < file.size) {
      attempts++;
      try {
        received += await fetchRest({ ...opts, url, partial, offset: onDisk, onProgress: (n) => fp.update(n) });
      } catch (e) {
        const now = (await sizeOf(partial)) ?? 0;
        if (now > onDisk) {
          received += now - onDisk;
          // Progress was made: this is a flaky link, not a dead one. Count afresh.
          failures = 0;
        }
        if (signal?.aborted) throw abortError();
        if (!isRetryable(e) || failures >= retry.retries) {
          if (now === 0) await rm(partial, { force: true });
          throw downloadError(e, label, attempts);
        }
        failures++;
        const wait = backoffDelay(failures, retry, e instanceof VlmError ? e.retryAfter : undefined);
        fp.note(`${describeFailure(e)} at ${now} bytes, retry ${failures}/${retry.retries} in ${fmtSeconds(wait)}`);
        await sleep(wait, signal, abortError);
      }
      continue;
    }

    const verdict = await verifyFile(partial, file, onDisk);
    if (!verdict.ok) {
      await rm(partial, { force: true });
      // A partial file from an older revision resumes into garbage: start over, once.
      if (resumedFrom > 0 && !restartedAfterMismatch) {
        restartedAfterMismatch = true;
        fp.note(`resumed file does not match (${verdict.reason}); downloading again from the start`);
        continue;
      }
      throw new VlmError(
        ErrorCodes.DATA,
        `${label}: downloaded file does not match the hub's listing: ${verdict.reason}`,
      );
    }
    await syncFile(partial);
    await rename(partial, dest);
    await writeChecksum(dest, file);
    fp.finish(verdict.checked === "size" ? "size checked" : `${verdict.checked} verified`);
    return { path: dest, skipped: false, received, resumedFrom, attempts };
  }
}

/** The listing's checksum of a file (sha256, else git oid), as recorded beside a verified copy. */
function listedChecksum(file: HubFile): string | undefined {
  return file.sha256 ?? file.gitOid;
}

/**
 * Whether a complete file at `dest` is the one the listing names now: `<dest>.checksum` holds
 * the checksum it was verified against. The cache is kept by revision name (`main`), so a shard
 * replaced upstream by one of the same size must not pass on its size. A copy without the
 * record (an earlier version's) is hashed once and recorded.
 */
async function stillListed(dest: string, file: HubFile): Promise<boolean> {
  const want = listedChecksum(file);
  if (!want) return true; // the listing gives sizes only
  const had = await readFile(`${dest}.checksum`, "utf8").catch(() => undefined);
  if (had?.trim() === want) return true;
  if (had !== undefined) return false;
  const verdict = await verifyFile(dest, file, file.size);
  if (verdict.ok) await writeChecksum(dest, file);
  return verdict.ok;
}

async function writeChecksum(dest: string, file: HubFile): Promise<void> {
  const sum = listedChecksum(file);
  if (sum) await writeFile(`${dest}.checksum`, `${sum}\n`);
  else await rm(`${dest}.checksum`, { force: true });
}

type FetchRestOptions = DownloadHubFileOptions & {
  url: string;
  partial: string;
  offset: number;
  onProgress: (onDisk: number) => void;
};

/** One request for the bytes from `offset` on, appended to `partial`. Returns bytes written. */
async function fetchRest(o: FetchRestOptions): Promise<number> {
  // Opened before the request so that nothing asynchronous sits between the answer and the
  // 'data' listener (see appendBody). "a": writes land at the end, which is `offset`.
  const fh = await open(o.partial, "a");
  try {
    return await requestInto(fh, o);
  } finally {
    await fh.close();
  }
}

async function requestInto(fh: FileHandle, o: FetchRestOptions): Promise<number> {
  // identity: a gzip-encoded body has no byte ranges that match the file's.
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (o.offset > 0) headers.range = `bytes=${o.offset}-`;
  const res = await getFollowingRedirects(o.url, {
    hub: o.hub,
    headers,
    signal: o.signal,
    dispatcher: o.dispatcher,
    bodyTimeoutMs: o.bodyTimeoutMs,
  });

  if (res.statusCode === 416) {
    // Our offset is past what the server has: the partial file is not from this file.
    await res.body.dump();
    await fh.truncate(0);
    throw new VlmError(ErrorCodes.HTTP, "HTTP 416 on resume, starting over", { status: 416, retryable: true });
  }
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    await res.body.dump();
    throw httpError(res.statusCode, parseRetryAfter(res.headers["retry-after"]));
  }

  let start = 0;
  if (res.statusCode === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headerValue(res.headers["content-range"]) ?? "");
    if (!m) {
      await res.body.dump();
      throw new VlmError(ErrorCodes.BAD_RESPONSE, "206 answer without a valid Content-Range", { retryable: true });
    }
    start = Number(m[1]);
    if (m[3] !== "*" && Number(m[3]) !== o.file.size) {
      await res.body.dump();
      throw new VlmError(
        ErrorCodes.DATA,
        `the hub serves ${m[3]} bytes but listed ${o.file.size}: the file changed during the download, run again`,
      );
    }
  }
  // A 200 to a ranged request means the Range was ignored: take the whole body from 0.
  if (start !== o.offset && start !== 0) {
    await res.body.dump();
    throw new VlmError(ErrorCodes.BAD_RESPONSE, `asked for bytes from ${o.offset}, got from ${start}`, {
      retryable: true,
    });
  }

  const onDisk = await appendBody(res.body, fh, {
    truncate: start === 0 && o.offset > 0,
    start,
    size: o.file.size,
    onProgress: o.onProgress,
  });
  if (onDisk < o.file.size) {
    throw new VlmError(ErrorCodes.CONNECTION, `connection closed at ${onDisk} of ${o.file.size} bytes`, {
      retryable: true,
    });
  }
  return onDisk - start;
}

const MAX_WRITE_BACKLOG = 16 << 20;

type AppendOptions = { truncate: boolean; start: number; size: number; onProgress: (onDisk: number) => void };

/**
 * Writes `body` at the end of `fh` (after truncating it when asked) and returns the size on
 * disk at the end. When the body fails, every byte received is still written, then it throws.
 *
 * Chunks are taken in 'data' events, synchronously, and written in order behind them. Not
 * pipeline() or an async iterator: when the connection breaks, undici destroys the body in
 * a nextTick, before any promise continuation, dropping what is still buffered in it. Taken
 * at once, what arrived reaches the disk and the resume asks only for the rest. Call it with
 * no await between the response and the call, for the same reason.
 */
async function appendBody(body: Readable, fh: FileHandle, o: AppendOptions): Promise<number> {
  let onDisk = o.start;
  let received = o.start;
  let backlog = 0;
  let written: Promise<unknown> = o.truncate ? fh.truncate(0) : Promise.resolve();
  const closed = () => new VlmError(ErrorCodes.CONNECTION, "connection closed mid-body", { retryable: true });
  const ended = new Promise<void>((resolve, reject) => {
    body.on("data", (chunk: Buffer) => {
      if (received + chunk.length > o.size) {
        body.destroy(new VlmError(ErrorCodes.DATA, `the hub sent more than the ${o.size} bytes it listed`));
        return;
      }
      received += chunk.length;
      backlog += chunk.length;
      written = written.then(async () => {
        try {
          await fh.write(chunk);
        } catch (e) {
          body.destroy(e as Error);
          throw e;
        }
        backlog -= chunk.length;
        onDisk += chunk.length;
        o.onProgress(onDisk);
        if (body.isPaused() && backlog < MAX_WRITE_BACKLOG / 2) body.resume();
      });
      // A disk slower than the network: stop reading and let TCP push back on the sender.
      if (backlog > MAX_WRITE_BACKLOG) body.pause();
    });
    body.once("end", resolve);
    body.once("error", reject);
    body.once("close", () => reject(closed()));
    // Failed before anyone listened: no event is coming.
    if (body.errored) reject(body.errored);
    else if (body.destroyed) reject(closed());
  });
  let bodyError: unknown;
  try {
    await ended;
  } catch (e) {
    bodyError = e;
  }
  await written;
  if (bodyError) throw bodyError;
  return onDisk;
}

function httpError(status: number, retryAfter?: number): VlmError {
  const hint =
    status === 401 || status === 403
      ? ": a private or gated repo needs HF_TOKEN (and access granted on its page)"
      : status === 404
        ? ": not found (check --repo and --revision)"
        : "";
  return new VlmError(ErrorCodes.HTTP, `HTTP ${status}${hint}`, {
    status,
    retryable: isRetryableStatus(status),
    retryAfter,
  });
}

function downloadError(e: unknown, label: string, attempts: number): VlmError {
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  if (e instanceof VlmError) {
    return new VlmError(e.code, `downloading ${label} failed${tries}: ${e.message}`, { status: e.status, cause: e });
  }
  return new VlmError(ErrorCodes.CONNECTION, `downloading ${label} failed${tries}: ${describeFailure(e)}`, {
    cause: e,
  });
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

// The rename is atomic, but without a sync a crash right after it can leave a renamed,
// still-empty file that a rerun would then skip.
async function syncFile(path: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
