import { type ErrorCode, ErrorCodes, VlmError } from "../errors.js";
import { proxyAuthRefusal } from "../net/proxy-errors.js";
import { Http1Error } from "./http1-pool.js";

// vLLM's messages for a prompt that does not fit (several versions' wordings).
const CONTEXT_LENGTH_RE =
  /maximum context length|is longer than the model's context length|is longer than the maximum model length|context length is only/i;

/** The message inside vLLM's error JSON, nested `{"error": {...}}` or the older flat form. */
export function serverErrorMessage(body: string): string {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    const e = j.error;
    if (e && typeof e === "object" && typeof (e as { message?: unknown }).message === "string") {
      return (e as { message: string }).message;
    }
    if (typeof e === "string") return e;
    if (typeof j.message === "string") return j.message;
    if (typeof j.detail === "string") return j.detail;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 500).trim() || "(empty body)";
}

/** Classifies an HTTP error answer: what it means and whether trying again may help. */
export function httpError(status: number, body: string, retryAfterHeader?: string | string[]): VlmError {
  const message = serverErrorMessage(body);
  if (status === 400 && CONTEXT_LENGTH_RE.test(message)) {
    return new VlmError(ErrorCodes.CONTEXT_LENGTH, message, { status });
  }
  const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
  return new VlmError(ErrorCodes.HTTP, `HTTP ${status}: ${message}`, {
    status,
    retryable,
    retryAfter: parseRetryAfter(retryAfterHeader),
  });
}

/** An error object that arrived inside a 200 SSE stream (`data: {"error": ...}`). */
export function streamError(payload: Record<string, unknown>): VlmError {
  const e = (payload.error ?? payload) as Record<string, unknown>;
  const message = typeof e.message === "string" ? e.message : JSON.stringify(e);
  const code = typeof e.code === "number" ? e.code : undefined;
  if (CONTEXT_LENGTH_RE.test(message)) return new VlmError(ErrorCodes.CONTEXT_LENGTH, message, { status: code });
  const retryable = code === undefined || code === 429 || code >= 500;
  return new VlmError(ErrorCodes.HTTP, `error in stream: ${message}`, { status: code, retryable });
}

/** Retry-After as seconds: a number, or an HTTP date. */
export function parseRetryAfter(h: string | string[] | null | undefined): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return n;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, (t - Date.now()) / 1000);
}

// Node's socket errors and undici's, as either pool reports them: worth another try.
const RETRYABLE_NET = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** vlmpipe's own HTTP/1.1 pool's codes (http1-pool.ts) as vlmpipe codes; every one is named. */
const HTTP1_CODES: Record<Http1Error["code"], { code: ErrorCode; message: (e: Http1Error) => string }> = {
  HEADERS_TIMEOUT: { code: ErrorCodes.TIMEOUT, message: idleTimeoutMessage },
  BODY_TIMEOUT: { code: ErrorCodes.TIMEOUT, message: idleTimeoutMessage },
  CONNECT_TIMEOUT: { code: ErrorCodes.CONNECTION, message: (e) => `connection failed: ${e.code} ${e.message}` },
  SOCKET_CLOSED: { code: ErrorCodes.CONNECTION, message: (e) => `connection failed: ${e.code} ${e.message}` },
  BAD_RESPONSE: { code: ErrorCodes.CONNECTION, message: (e) => `request failed: ${e.message}` },
  POOL_CLOSED: { code: ErrorCodes.CONNECTION, message: (e) => `request failed: ${e.message}` },
};

function idleTimeoutMessage(e: { code?: string }): string {
  return `no data from the server in time (${e.code}); see ++server.idle_timeout`;
}

/** Turns anything the transport threw into a VlmError with a code and a retry verdict. */
export function transportError(e: unknown, signal?: AbortSignal): VlmError {
  if (e instanceof VlmError) return e;
  const err = e as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code;
  if (signal?.aborted) {
    const reason = signal.reason as { name?: string } | undefined;
    if (reason?.name === "TimeoutError") {
      return new VlmError(ErrorCodes.TIMEOUT, "the request took longer than ++inference.timeout", { retryable: false });
    }
    return new VlmError(ErrorCodes.ABORTED, "aborted", { retryable: false });
  }
  if (e instanceof Http1Error) {
    const mapped = HTTP1_CODES[e.code];
    return new VlmError(mapped.code, mapped.message(e), { retryable: true, cause: e });
  }
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new VlmError(ErrorCodes.TIMEOUT, idleTimeoutMessage({ code }), { retryable: true, cause: e });
  }
  if (code && RETRYABLE_NET.has(code)) {
    return new VlmError(ErrorCodes.CONNECTION, `connection failed: ${code} ${err.message ?? ""}`.trim(), {
      retryable: true,
      cause: e,
    });
  }
  const refusal = proxyAuthRefusal(e);
  if (refusal) {
    return new VlmError(ErrorCodes.CONNECTION, `the proxy refused us: ${refusal}`, { retryable: false, cause: e });
  }
  const message = `request failed: ${err.message ?? String(e)}`;
  return new VlmError(ErrorCodes.CONNECTION, message, { retryable: true, cause: e });
}
