import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import type { Dispatcher } from "undici";
import { ErrorCodes, VlmError } from "../errors.js";
import { contentCodings, decodersFor, unsupportedCoding } from "../net/content-codings.js";
import { netDispatcher } from "../net/net-dispatcher.js";
import { loadUndici } from "../net/undici.js";
import { sleep } from "../util/sleep.js";
import type { ImageOptions } from "./options.js";

export type FetchOptions = Pick<ImageOptions, "fetch_timeout" | "fetch_max_bytes" | "fetch_retries">;

// One agent for all image downloads: keep-alive across rows, redirects followed (image CDNs
// redirect a lot), proxies from the environment (each hop routed on its own). Made on first
// use so importing this module loads and opens nothing.
const MAX_REDIRECTS = 5;
let agent: Promise<Dispatcher> | undefined;
function defaultDispatcher(): Promise<Dispatcher> {
  agent ??= Promise.all([netDispatcher(), loadUndici()]).then(([d, { interceptors }]) =>
    d.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })),
  );
  return agent;
}

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const BACKOFF_MS = 500;
const MAX_RETRY_AFTER_S = 30;

/**
 * Downloads an http(s) image with a timeout per attempt, a size cap (checked against
 * Content-Length first, then while streaming, so an oversized body is never held whole), and
 * retries with backoff on network errors, timeouts, 408/425/429 and 500/502/503/504 (Retry-After honoured).
 * Throws VlmError IMAGE_FETCH (status set for HTTP errors), IMAGE_TOO_LARGE, or ABORTED when
 * `signal` fires.
 */
export async function fetchImage(
  url: string,
  options: FetchOptions,
  signal?: AbortSignal,
  dispatcher?: Dispatcher,
): Promise<Buffer> {
  const label = redactUrl(url);
  let lastError: VlmError | undefined;
  for (let attempt = 0; attempt <= options.fetch_retries; attempt++) {
    if (attempt > 0) {
      const wait =
        lastError?.retryAfter !== undefined
          ? Math.min(lastError.retryAfter, MAX_RETRY_AFTER_S) * 1000
          : BACKOFF_MS * 2 ** (attempt - 1);
      await sleep(wait, signal, () => aborted(label));
    }
    try {
      return await fetchOnce(url, label, options, signal, dispatcher ?? (await defaultDispatcher()));
    } catch (e) {
      if (!(e instanceof VlmError) || !e.retryable) throw e;
      lastError = e;
    }
  }
  const n = options.fetch_retries + 1;
  throw new VlmError(lastError!.code, `${lastError!.message} (after ${n} attempt${n === 1 ? "" : "s"})`, {
    status: lastError!.status,
    retryable: true,
    cause: lastError,
  });
}

async function fetchOnce(
  url: string,
  label: string,
  o: FetchOptions,
  signal: AbortSignal | undefined,
  dispatcher: Dispatcher,
): Promise<Buffer> {
  if (signal?.aborted) throw aborted(label);
  const ms = Math.round(o.fetch_timeout * 1000);
  const timeout = AbortSignal.timeout(ms);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const failed = (e: unknown): VlmError => {
    if (e instanceof VlmError) return e;
    if (signal?.aborted) return aborted(label);
    if (timeout.aborted)
      return new VlmError(
        ErrorCodes.IMAGE_FETCH,
        `${label}: download timed out after ${o.fetch_timeout} s (image.fetch_timeout)`,
        { retryable: true, cause: e },
      );
    return new VlmError(ErrorCodes.IMAGE_FETCH, `${label}: download failed: ${(e as Error).message}`, {
      retryable: true,
      cause: e,
    });
  };
  let res: Dispatcher.ResponseData;
  try {
    const { request } = await loadUndici();
    res = await request(url, {
      method: "GET",
      dispatcher,
      signal: both,
      headers: { accept: "image/*,*/*;q=0.5", "user-agent": "vlmpipe" },
      headersTimeout: ms,
      bodyTimeout: ms,
    });
  } catch (e) {
    throw failed(e);
  }
  try {
    if (res.statusCode >= 400) {
      const retryAfter = parseRetryAfter(res.headers["retry-after"]);
      throw new VlmError(ErrorCodes.IMAGE_FETCH, `${label}: HTTP ${res.statusCode}`, {
        status: res.statusCode,
        retryable: RETRY_STATUS.has(res.statusCode),
        retryAfter,
      });
    }
    // The redirect interceptor hands back the last 3xx when it stops following (a loop, more
    // than MAX_REDIRECTS hops, no Location): its empty body is no image, and must not be
    // judged as one (a decode error is remembered on disk as the image's lasting verdict).
    if (res.statusCode >= 300 || res.statusCode < 200) {
      throw new VlmError(
        ErrorCodes.IMAGE_FETCH,
        `${label}: HTTP ${res.statusCode} not followed (a redirect loop, more than ${MAX_REDIRECTS} redirects, or no Location header)`,
        { status: res.statusCode },
      );
    }
    const declared = Number(res.headers["content-length"]);
    if (Number.isFinite(declared) && declared > o.fetch_max_bytes)
      throw tooLarge(label, `Content-Length ${declared}`, o);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of decoded(res.body, res.headers["content-encoding"], label)) {
      total += (chunk as Buffer).length;
      if (total > o.fetch_max_bytes) throw tooLarge(label, `more than ${o.fetch_max_bytes} bytes received`, o);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    // Drop the rest of the body so the socket is closed rather than left hanging. undici
    // emits an AbortError on a destroyed unread body: swallow it, the cause is thrown below.
    res.body.on("error", () => {});
    res.body.destroy();
    throw failed(e);
  }
}

/**
 * The body with its Content-Encoding undone, as vLLM's own download (aiohttp) does: objects
 * stored gzipped (S3, some CDNs) come with `Content-Encoding: gzip` whatever the request asked.
 * The cap then holds on the decoded bytes, so a small bomb cannot fill memory.
 */
function decoded(body: Readable, header: string | string[] | undefined, label: string): AsyncIterable<Buffer> {
  const codings = contentCodings(header);
  if (codings.length === 0) return body;
  const unknown = unsupportedCoding(codings);
  if (unknown !== undefined)
    throw new VlmError(ErrorCodes.IMAGE_FETCH, `${label}: unsupported Content-Encoding ${JSON.stringify(unknown)}`);
  const streams = decodersFor(codings);
  // Errors reach the reader through the last stream (the callback only keeps them from being unhandled).
  const last = pipeline([body, ...streams], () => {}) as unknown as AsyncIterable<Buffer>;
  return (async function* () {
    try {
      yield* last;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      if (!code.startsWith("Z_") && !code.startsWith("ERR__ERROR")) throw e;
      throw new VlmError(
        ErrorCodes.IMAGE_FETCH,
        `${label}: the body does not decode as its Content-Encoding ${codings.join(", ")} (${(e as Error).message})`,
        { cause: e },
      );
    }
  })();
}

function tooLarge(label: string, what: string, o: FetchOptions): VlmError {
  return new VlmError(
    ErrorCodes.IMAGE_TOO_LARGE,
    `${label}: download is over image.fetch_max_bytes ${o.fetch_max_bytes} (${what})`,
  );
}

function aborted(label: string): VlmError {
  return new VlmError(ErrorCodes.ABORTED, `${label}: download aborted`);
}

function parseRetryAfter(h: string | string[] | undefined): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/** The URL without user:password, so credentials in a URL never reach an error record. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}
