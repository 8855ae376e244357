import type { ServerConfig } from "../config/generation-config.js";
import { withRetry } from "./retry.js";
import { type PoolEvents, serverPool } from "./server-pool.js";
import { createTransport } from "./transport.js";
import type { ChatClient } from "./types.js";

export type ClientOptions = {
  /** One OpenAI base URL, or several to spread requests over. */
  baseUrl: string | string[];
  apiKey?: string;
  concurrency: number;
  server: ServerConfig;
  /** Seconds one request may take in all (++inference.timeout). */
  timeoutSeconds: number;
  onRetry?: Parameters<typeof withRetry>[1]["onRetry"];
} & PoolEvents;

/**
 * The OpenAI-compatible client, by composition: a transport per server (vlmpipe's own HTTP/1.1
 * pool for http, undici for https; see transport.ts), a pool that spreads requests and takes
 * dead servers out, and the retry layer on top.
 */
export function createClient(opts: ClientOptions): ChatClient {
  const urls = [opts.baseUrl].flat();
  const transports = urls.map((url) => ({
    url,
    client: createTransport({
      baseUrl: url,
      apiKey: opts.apiKey,
      connections: opts.concurrency,
      idleTimeoutMs: opts.server.idle_timeout * 1000,
      responseTimeoutMs: (opts.server.timeout ?? opts.timeoutSeconds) * 1000,
      totalTimeoutMs: opts.timeoutSeconds * 1000,
    }),
  }));
  const inner =
    transports.length === 1 ? (transports[0] as (typeof transports)[number]).client : serverPool(transports, opts);
  return withRetry(inner, {
    maxRetries: opts.server.max_retries,
    backoffMs: opts.server.backoff_ms,
    maxBackoffMs: opts.server.max_backoff_ms,
    onRetry: opts.onRetry,
  });
}
