/**
 * HTTP plumbing shared by listing and downloading: a retrying `fetch` to hand to
 * @huggingface/hub, and an undici GET that follows the hub's redirects itself so that the
 * token goes to the hub's origin and never to the CDN the hub redirects to.
 */
import type { Dispatcher } from "undici";
import { ErrorCodes, VlmError } from "../errors.js";
import { netDispatcher } from "../net/net-dispatcher.js";
import { loadUndici } from "../net/undici.js";
import { sleep } from "../util/sleep.js";
import type { HubConfig } from "./config.js";
import {
  abortError,
  backoffDelay,
  DEFAULT_RETRY,
  describeFailure,
  isRetryableStatus,
  isTransientNetworkError,
  parseRetryAfter,
  type RetryOptions,
} from "./retry.js";

export const USER_AGENT = "vlmpipe (+@huggingface/hub; undici)";

export type RetryingFetchOptions = {
  retry?: RetryOptions;
  log?: (line: string) => void;
  signal?: AbortSignal;
};

/**
 * A `fetch` that tries again on 408/429/5xx and broken connections. @huggingface/hub has
 * no retry of its own; it takes a `fetch` option, so the policy goes in as composition.
 * The last failing response is returned as is, for the hub client to turn into its error.
 */
export function retryingFetch(opts: RetryingFetchOptions = {}): typeof fetch {
  const retry = opts.retry ?? DEFAULT_RETRY;
  return async (input, init) => {
    for (let failures = 0; ; ) {
      let wait: number;
      let why: string;
      try {
        // Node's fetch takes an undici dispatcher (a non-standard option): proxies from the environment.
        const res = await fetch(input, {
          ...init,
          signal: opts.signal ?? init?.signal,
          dispatcher: await netDispatcher(),
        } as unknown as RequestInit);
        if (!isRetryableStatus(res.status) || failures >= retry.retries) return res;
        await res.body?.cancel();
        failures++;
        wait = backoffDelay(failures, retry, parseRetryAfter(res.headers.get("retry-after")));
        why = `HTTP ${res.status}`;
      } catch (e) {
        if (opts.signal?.aborted || !isTransientNetworkError(e) || failures >= retry.retries) throw e;
        failures++;
        wait = backoffDelay(failures, retry);
        why = describeFailure(e);
      }
      opts.log?.(`[hub] ${describeUrl(input)}: ${why}, retry ${failures}/${retry.retries} in ${fmtSeconds(wait)}`);
      await sleep(wait, opts.signal, abortError);
    }
  };
}

export type GetOptions = {
  hub: HubConfig;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  /** Longest silence between two body chunks before the attempt fails (and is retried). */
  bodyTimeoutMs?: number;
};

const MAX_REDIRECTS = 10;

/**
 * GET `url`, following redirects by hand. The hub answers a resolve URL of an LFS/xet file
 * with a 302 to a signed CDN URL (relative 307s for renamed repos): the Authorization header
 * is sent only while the URL is on the hub's origin, as huggingface_hub and browsers do.
 * The caller owns the returned body (read or dump it).
 */
export async function getFollowingRedirects(url: string, opts: GetOptions): Promise<Dispatcher.ResponseData> {
  const hubOrigin = new URL(opts.hub.hubUrl).origin;
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { "user-agent": USER_AGENT, ...opts.headers };
    if (opts.hub.accessToken && current.origin === hubOrigin) {
      headers.authorization = `Bearer ${opts.hub.accessToken}`;
    }
    const { request } = await loadUndici();
    const res = await request(current, {
      method: "GET",
      headers,
      signal: opts.signal,
      dispatcher: opts.dispatcher ?? (await netDispatcher()),
      bodyTimeout: opts.bodyTimeoutMs ?? 60_000,
      headersTimeout: 60_000,
    });
    if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304) return res;
    const location = headerValue(res.headers.location);
    await res.body.dump();
    if (!location) {
      throw new VlmError(ErrorCodes.BAD_RESPONSE, `HTTP ${res.statusCode} redirect without a Location header`, {
        status: res.statusCode,
      });
    }
    current = new URL(location, current);
  }
  throw new VlmError(ErrorCodes.BAD_RESPONSE, `more than ${MAX_REDIRECTS} redirects`);
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function describeUrl(input: Parameters<typeof fetch>[0]): string {
  const raw = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  try {
    const u = new URL(raw);
    // Path only: query strings of signed URLs are credentials of a kind.
    return decodeURIComponent(u.pathname);
  } catch {
    return "request";
  }
}

export function fmtSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
