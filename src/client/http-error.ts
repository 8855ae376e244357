import { type ErrorCode, ErrorCodes, VlmError } from "../errors.js";
import { proxyAuthRefusal } from "../net/proxy-errors.js";
import { Http1Error } from "./http1-pool.js";

// vLLM's (and SGLang's) messages for a request that does not fit the model's context, in
// several versions' wordings. Whether the prompt itself is too long, or only prompt +
// max_tokens, is decided after (contextError).
const CONTEXT_LENGTH_RE =
  /maximum context length|is longer than the model's context length|is longer than the maximum model length|context length is only/i;

// The numbers some of those messages give: the model's length, the prompt's tokens.
const MAX_LEN_RE = /maximum context length (?:is|of) (\d+)/i;
const PROMPT_TOKENS_RE = /(\d+) in the messages|has (\d+) input tokens|(\d+) tokens from the input messages/i;
// The message blames the completion's budget too (max_tokens), not the prompt alone:
// vLLM "(100 in the messages, 4096 in the completion)", vLLM V1 "'max_tokens' or
// 'max_completion_tokens' is too large", SGLang "... tokens for the completion".
const COMPLETION_RE = /in the completion|for the completion|'max_tokens'|max_completion_tokens/i;

/**
 * vLLM's 400 for a request whose prompt fits the model's context but whose max_tokens does
 * not (prompt + max_tokens > max_model_len). Not a prompt too long (VLM_E_CONTEXT_LENGTH,
 * recorded as finish_reason "model_length"): a setting to lower. The row fails (code
 * VLM_E_HTTP, status 400, not retried in the run: the same request fails the same way) and a
 * rerun tries it again.
 *
 * NeMo-Skills by default (enable_soft_fail=False, inference/model/context_retry.py) re-raises
 * every context-window 400 and the generation job stops; only with enable_soft_fail does it
 * write an empty generation, and its reduce_generation strategy then lowers tokens_to_generate
 * to what the parsed message leaves. vlmpipe neither stops the run on one row nor passes the
 * row off as answered: the row fails, its message says what to lower.
 */
export class MaxTokensTooLargeError extends VlmError {
  constructor(
    serverMessage: string,
    status: number | undefined,
    /** The model's context length in tokens, when the message gives it. */
    readonly maxModelLen?: number,
    /** The prompt's tokens, when the message gives them. */
    readonly promptTokens?: number,
  ) {
    const room =
      maxModelLen !== undefined && promptTokens !== undefined
        ? ` to at most ${maxModelLen - promptTokens} for this row (the model's maximum context length is ${maxModelLen} tokens, its prompt takes ${promptTokens})`
        : maxModelLen !== undefined
          ? ` (the model's maximum context length is ${maxModelLen} tokens, prompt and completion together)`
          : "";
    super(
      ErrorCodes.HTTP,
      `${status === undefined ? "" : `HTTP ${status}: `}the prompt fits the model's context but max_tokens does not: ` +
        `lower ++inference.tokens_to_generate${room}. The server said: ${serverMessage}`,
      { status, retryable: false },
    );
  }
}

/**
 * A context-length answer, or undefined when the message is not one: VLM_E_CONTEXT_LENGTH
 * when the prompt alone does not fit (or the message does not say), MaxTokensTooLargeError
 * when the prompt fits and only max_tokens does not.
 */
function contextError(message: string, status: number | undefined): VlmError | undefined {
  if (!CONTEXT_LENGTH_RE.test(message)) return undefined;
  if (COMPLETION_RE.test(message)) {
    const max = numberIn(MAX_LEN_RE.exec(message));
    const prompt = numberIn(PROMPT_TOKENS_RE.exec(message));
    // vLLM needs room for one generated token: a prompt of max_model_len tokens does not fit.
    const promptFits = max === undefined || prompt === undefined || prompt < max;
    if (promptFits) return new MaxTokensTooLargeError(message, status, max, prompt);
  }
  return new VlmError(ErrorCodes.CONTEXT_LENGTH, message, { status });
}

/** The first captured number of a match (the patterns above have one group per wording). */
function numberIn(m: RegExpExecArray | null): number | undefined {
  const g = m?.slice(1).find((x) => x !== undefined);
  return g === undefined ? undefined : Number(g);
}

/** Whether a failed request did not fit the model's context: the prompt, or prompt + max_tokens. */
export function isContextError(e: unknown): boolean {
  return e instanceof MaxTokensTooLargeError || (e instanceof VlmError && e.code === ErrorCodes.CONTEXT_LENGTH);
}

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
  const context = status === 400 ? contextError(message, status) : undefined;
  if (context) return context;
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
  const context = contextError(message, code);
  if (context) return context;
  const retryable = code === undefined || code === 429 || code >= 500;
  return new VlmError(ErrorCodes.HTTP, `error in stream: ${message}`, { status: code, retryable });
}

/**
 * An error JSON answered with status 200 as the whole body (either of vLLM's shapes): a
 * server or proxy that puts the status only in the body. Classified as that status says when
 * it gives one (`code: 404`), else as an error event in a stream.
 */
export function bodyError(payload: Record<string, unknown>): VlmError {
  const e = (typeof payload.error === "object" && payload.error !== null ? payload.error : payload) as Record<
    string,
    unknown
  >;
  const code = typeof e.code === "number" ? e.code : undefined;
  if (code === undefined || code < 400 || code > 599) return streamError(payload);
  return httpError(code, JSON.stringify(payload));
}

/** Whether a parsed JSON body is one of vLLM's error shapes: `{"error": ...}` or the flat `{"object": "error", ...}`. */
export function isErrorBody(j: Record<string, unknown>): boolean {
  return j.error !== undefined && j.error !== null ? true : j.object === "error";
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
  HEADERS_TIMEOUT: { code: ErrorCodes.TIMEOUT, message: responseTimeoutMessage },
  BODY_TIMEOUT: { code: ErrorCodes.TIMEOUT, message: responseTimeoutMessage },
  CONNECT_TIMEOUT: { code: ErrorCodes.CONNECTION, message: (e) => `connection failed: ${e.code} ${e.message}` },
  SOCKET_CLOSED: { code: ErrorCodes.CONNECTION, message: (e) => `connection failed: ${e.code} ${e.message}` },
  BAD_RESPONSE: { code: ErrorCodes.CONNECTION, message: (e) => `request failed: ${e.message}` },
  POOL_CLOSED: { code: ErrorCodes.CONNECTION, message: (e) => `request failed: ${e.message}` },
};

// The pools' own headers and body timeouts serve non-streamed requests only (a stream's idle
// clock is the transport's, transport.ts): ++server.timeout sets that wait.
function responseTimeoutMessage(e: { code?: string }): string {
  return `no answer from the server in time (${e.code}); see ++server.timeout, the wait for a non-streamed answer (++inference.timeout when not set)`;
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
    return new VlmError(ErrorCodes.TIMEOUT, responseTimeoutMessage({ code }), { retryable: true, cause: e });
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
