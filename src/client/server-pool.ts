import { ErrorCodes, VlmError } from "../errors.js";
import type { ChatClient, ChatOptions, ChatRequest, ChatResult } from "./types.js";

type Member = {
  url: string;
  client: Pick<ChatClient, "chat" | "close">;
  inFlight: number;
  downUntil: number;
  /** Cooldowns in a row without a success since; > 0: the server is on probation. */
  failures: number;
  /** On probation with its one request out, until that request's stream starts or it ends. */
  probing: boolean;
};

export type PoolEvents = {
  onDown?: (url: string, seconds: number, error: VlmError) => void;
  onUp?: (url: string) => void;
};

const COOLDOWN_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Whether a failure says the server is unwell rather than the request wrong: no connection,
 * a stream cut short or stalled, an answer that is not a chat completion, a 5xx (a gateway
 * whose backend is gone, an engine that died, vLLM's full queue), an error event in a stream.
 * Not: 4xx answers (the request's own fault; 429 is the adaptive limit's business) and the
 * whole-request deadline (++inference.timeout: the request was long, not the server dead).
 */
function serverFault(e: unknown): e is VlmError {
  if (!(e instanceof VlmError)) return false;
  switch (e.code) {
    case ErrorCodes.CONNECTION:
    case ErrorCodes.BAD_RESPONSE:
      return true;
    case ErrorCodes.TIMEOUT:
      return e.retryable;
    case ErrorCodes.HTTP:
      return e.status === undefined ? e.retryable : e.status >= 500;
    default:
      return false;
  }
}

/**
 * Spreads requests over several servers: the least busy healthy one, ties taken in turn. A
 * server that fails (serverFault: a refused connection as much as a fast 502) is taken out
 * for a cooldown that grows while it keeps failing; back from one, it gets one request until
 * that request's answer starts (a 200 stream) or succeeds, so a server that answers errors
 * fast, or not at all, cannot draw the traffic. The
 * retry layer above sends the failed request again: to another server when there is one.
 * When every server is out, the one back soonest is tried.
 */
export function serverPool(
  members: { url: string; client: Pick<ChatClient, "chat" | "close"> }[],
  events: PoolEvents = {},
) {
  const pool: Member[] = members.map((m) => ({ ...m, inFlight: 0, downUntil: 0, failures: 0, probing: false }));
  let turn = 0;
  // The server each request's last attempt failed on, by the caller's options (the retry
  // layer passes the same object to every attempt of a request).
  const failedOn = new WeakMap<ChatOptions, Member>();

  function pick(now: number, avoid: Member | undefined): Member {
    // Up, and not on probation with its one request still out.
    let up = pool.filter((m) => m.downUntil <= now && !m.probing);
    if (avoid && up.length > 1) up = up.filter((m) => m !== avoid);
    if (up.length === 0) {
      const others = avoid && pool.length > 1 ? pool.filter((m) => m !== avoid) : pool;
      return others.reduce((a, b) => (b.downUntil < a.downUntil ? b : a));
    }
    // Least in flight; ties broken in turn (the scan starts one further each time) so equal
    // servers share the load, one request at a time too.
    const start = turn++ % up.length;
    let best = up[start] as Member;
    for (let i = 1; i < up.length; i++) {
      const m = up[(start + i) % up.length] as Member;
      if (m.inFlight < best.inFlight) best = m;
    }
    return best;
  }

  /** Out for the next cooldown, unless it is out already (failures of requests sent before count once). */
  function takeOut(m: Member, e: VlmError, now: number): void {
    if (m.downUntil > now) return;
    const ms = COOLDOWN_MS[Math.min(m.failures, COOLDOWN_MS.length - 1)] as number;
    m.failures++;
    m.downUntil = now + ms;
    events.onDown?.(m.url, ms / 1000, e);
  }

  async function chat(request: ChatRequest, opts?: ChatOptions): Promise<Omit<ChatResult, "attempts">> {
    const m = pick(Date.now(), opts && failedOn.get(opts));
    const probe = m.failures > 0 && pool.length > 1 && !m.probing;
    m.inFlight++;
    try {
      const r = await m.client.chat(request, probe ? probeOptions(m, opts) : opts);
      if (m.failures > 0) events.onUp?.(m.url);
      m.failures = 0;
      return r;
    } catch (e) {
      if (pool.length > 1) {
        if (opts) failedOn.set(opts, m);
        if (serverFault(e)) takeOut(m, e, Date.now());
      }
      throw e;
    } finally {
      m.inFlight--;
      if (probe) m.probing = false;
    }
  }

  /** The caller's options, told as well when the probe's stream starts: the server is alive. */
  function probeOptions(m: Member, opts: ChatOptions | undefined): ChatOptions {
    m.probing = true;
    const o: ChatOptions = {
      signal: opts?.signal,
      onStream(s) {
        m.probing = false;
        opts?.onStream?.(s);
      },
    };
    if (opts?.retryRequest) o.retryRequest = (r) => opts.retryRequest?.(r) ?? r;
    return o;
  }

  return {
    chat: chat as ChatClient["chat"],
    /**
     * Takes a server out as if it had failed its longest cooldown: one that failed the
     * run's start-up check (it already had ++server.wait_timeout to come up). It is tried
     * again after that cooldown, one request first, like any server back from one.
     */
    markDown(url: string, error: Error): void {
      const m = pool.find((x) => x.url === url);
      if (!m || pool.length === 1) return;
      m.failures = Math.max(m.failures, COOLDOWN_MS.length - 1);
      m.downUntil = 0;
      const e = error instanceof VlmError ? error : new VlmError(ErrorCodes.CONNECTION, error.message);
      takeOut(m, e, Date.now());
    },
    close: async () => {
      await Promise.all(pool.map((m) => m.client.close()));
    },
    get members(): ReadonlyArray<Readonly<Member>> {
      return pool;
    },
  };
}
