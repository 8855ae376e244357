import { ErrorCodes, VlmError } from "../errors.js";
import { sleep } from "../util/sleep.js";
import type { ChatClient, ChatOptions, ChatRequest, ChatResult } from "./types.js";

export type RetryPolicy = {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff in ms; doubled per attempt with full jitter. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Called before each wait, for progress and logs. */
  onRetry?: (info: { attempt: number; delayMs: number; error: VlmError }) => void;
  random?: () => number;
};

/**
 * Retry as a layer over a one-attempt client: transient faults (connection errors, 408/429/5xx,
 * timeouts, broken streams) are retried with exponential backoff and full jitter, or after the
 * server's Retry-After; everything else fails at once. The error keeps the attempts made.
 */
export function withRetry(inner: Pick<ChatClient, "chat" | "close" | "markDown">, policy: RetryPolicy): ChatClient {
  const random = policy.random ?? Math.random;

  // The first attempt without an async function around it (one per row, thousands a second);
  // a failure goes on in retryAfter.
  function chat(request: ChatRequest, opts: ChatOptions = {}): Promise<ChatResult> {
    let first: Promise<Omit<ChatResult, "attempts">>;
    try {
      first = inner.chat(request, opts);
    } catch (e) {
      return retryAfter(e, 1, request, opts);
    }
    return first.then(firstAttempt, (e: unknown) => retryAfter(e, 1, request, opts));
  }

  /** Decides about the failure of attempt `failed`, then waits and tries again (or throws). */
  async function retryAfter(e: unknown, failed: number, request: ChatRequest, opts: ChatOptions): Promise<ChatResult> {
    for (let attempt = failed; ; attempt++) {
      const err = e instanceof VlmError ? e : new VlmError(ErrorCodes.INTERNAL, String(e));
      if (!err.retryable || attempt > policy.maxRetries || opts.signal?.aborted || opts.stop?.aborted) {
        err.attempts = attempt;
        throw err;
      }
      const cap = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
      const delayMs =
        err.retryAfter !== undefined
          ? Math.min(err.retryAfter * 1000, policy.maxBackoffMs)
          : Math.round(random() * cap);
      policy.onRetry?.({ attempt, delayMs, error: err });
      const wake = opts.stop ? (opts.signal ? AbortSignal.any([opts.signal, opts.stop]) : opts.stop) : opts.signal;
      try {
        await sleep(delayMs, wake, () => new VlmError(ErrorCodes.ABORTED, "aborted"));
      } catch (x) {
        // A graceful stop during the wait: the row fails with what the server last said.
        if (!opts.stop?.aborted || opts.signal?.aborted) throw x;
        err.attempts = attempt;
        throw err;
      }
      if (opts.retryRequest) request = opts.retryRequest(request);
      try {
        return withAttempts(await inner.chat(request, opts), attempt + 1);
      } catch (next) {
        e = next;
      }
    }
  }

  const client: ChatClient = { chat, close: () => inner.close() };
  if (inner.markDown) client.markDown = inner.markDown;
  return client;
}

const firstAttempt = (r: Omit<ChatResult, "attempts">): ChatResult => withAttempts(r, 1);

/** The inner client's result (a fresh object per call) with the attempts made. */
function withAttempts(r: Omit<ChatResult, "attempts">, attempts: number): ChatResult {
  (r as ChatResult).attempts = attempts;
  return r as ChatResult;
}
