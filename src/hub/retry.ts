/**
 * Retry policy for hub traffic: which failures are worth another try, and how long to wait.
 * Kept apart from the transport (undici's habit): the listing wraps fetch with it, the
 * download loop uses the same pieces but counts only failures that made no progress.
 */
import { ErrorCodes, errorMessage, VlmError } from "../errors.js";

export type RetryOptions = {
  /** Failed attempts tolerated before giving up (so at most retries + 1 tries in a row). */
  retries: number;
  /** First wait; doubled after each failure. */
  minDelayMs: number;
  /** Cap on one wait, Retry-After included. */
  maxDelayMs: number;
};

// The hub's CDN and API hiccup for seconds, not minutes: 1, 2, 4, 8, 16 s, then give up.
export const DEFAULT_RETRY: RetryOptions = { retries: 5, minDelayMs: 1_000, maxDelayMs: 30_000 };

/** 408, 429 and 5xx: the server, not the request, is the problem. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

// Error codes of a connection that broke or never came up (Node's net layer and undici).
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** Whether `e` (or one of its causes: fetch wraps the real error) is a broken connection. */
export function isTransientNetworkError(e: unknown): boolean {
  for (let cur = e, depth = 0; cur && depth < 6; depth++) {
    if (typeof cur !== "object") return false;
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
    // fetch reports a body cut mid-stream as `TypeError: terminated`.
    if (cur instanceof TypeError && /^(terminated|fetch failed)$/.test(cur.message)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

export function isRetryable(e: unknown): boolean {
  if (e instanceof VlmError) return e.retryable;
  return isTransientNetworkError(e);
}

/** Wait before the `failures`-th retry (1-based): exponential with jitter, Retry-After wins. */
export function backoffDelay(failures: number, opts: RetryOptions, retryAfterSec?: number): number {
  if (retryAfterSec !== undefined && Number.isFinite(retryAfterSec) && retryAfterSec >= 0) {
    return Math.min(retryAfterSec * 1000, opts.maxDelayMs);
  }
  const base = Math.min(opts.minDelayMs * 2 ** (failures - 1), opts.maxDelayMs);
  // Up to 25% jitter so parallel jobs (Slurm array tasks) do not retry in lockstep.
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/** Seconds from a Retry-After header (the client's parser: delta-seconds or an HTTP date). */
export { parseRetryAfter } from "../client/http-error.js";

export function abortError(): VlmError {
  return new VlmError(ErrorCodes.ABORTED, "download aborted");
}

/** A short, token-free description of a failure for a retry log line. */
export function describeFailure(e: unknown): string {
  if (e instanceof VlmError) return e.status ? `HTTP ${e.status}` : e.message;
  for (let cur = e, depth = 0; cur && typeof cur === "object" && depth < 6; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return errorMessage(e);
}
