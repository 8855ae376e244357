import { ErrorCodes, VlmError } from "../errors.js";
import type { ChatClient, ChatOptions, ChatRequest, ChatResult } from "./types.js";

type Member = {
  url: string;
  client: Pick<ChatClient, "chat" | "close">;
  inFlight: number;
  downUntil: number;
  failures: number;
};

export type PoolEvents = {
  onDown?: (url: string, seconds: number, error: VlmError) => void;
  onUp?: (url: string) => void;
};

const COOLDOWN_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Spreads requests over several servers (the least busy healthy one first). A server whose
 * connection fails is taken out for a cooldown that grows while it keeps failing, then tried
 * again; the retry layer above sends the failed request elsewhere. When every server is out,
 * the one back soonest is tried.
 */
export function serverPool(
  members: { url: string; client: Pick<ChatClient, "chat" | "close"> }[],
  events: PoolEvents = {},
) {
  const pool: Member[] = members.map((m) => ({ ...m, inFlight: 0, downUntil: 0, failures: 0 }));
  let turn = 0;

  function pick(now: number): Member {
    const up = pool.filter((m) => m.downUntil <= now);
    const candidates = up.length ? up : [...pool].sort((a, b) => a.downUntil - b.downUntil).slice(0, 1);
    // Least in flight; ties broken round-robin so equal servers share the load.
    turn = (turn + 1) % pool.length;
    let best = candidates[0] as Member;
    for (let i = 0; i < candidates.length; i++) {
      const m = candidates[(i + turn) % candidates.length] as Member;
      if (m.inFlight < best.inFlight) best = m;
    }
    return best;
  }

  async function chat(request: ChatRequest, opts?: ChatOptions): Promise<Omit<ChatResult, "attempts">> {
    const m = pick(Date.now());
    m.inFlight++;
    try {
      const r = await m.client.chat(request, opts);
      if (m.failures > 0) events.onUp?.(m.url);
      m.failures = 0;
      return r;
    } catch (e) {
      if (
        e instanceof VlmError &&
        (e.code === ErrorCodes.CONNECTION || e.code === ErrorCodes.TIMEOUT) &&
        pool.length > 1
      ) {
        const ms = COOLDOWN_MS[Math.min(m.failures, COOLDOWN_MS.length - 1)] as number;
        m.failures++;
        m.downUntil = Date.now() + ms;
        events.onDown?.(m.url, ms / 1000, e);
      }
      throw e;
    } finally {
      m.inFlight--;
    }
  }

  return {
    chat: chat as ChatClient["chat"],
    close: async () => {
      await Promise.all(pool.map((m) => m.client.close()));
    },
    get members(): ReadonlyArray<Readonly<Member>> {
      return pool;
    },
  };
}
