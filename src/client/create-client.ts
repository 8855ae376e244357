import type { ServerConfig } from "../config/generation-config.js";
import { withRetry } from "./retry.js";
import { createTransport } from "./transport.js";
import type { ChatClient } from "./types.js";

export type ClientOptions = {
  baseUrl: string;
  apiKey?: string;
  concurrency: number;
  server: ServerConfig;
  /** Seconds one request may take in all (++inference.timeout). */
  timeoutSeconds: number;
  onRetry?: Parameters<typeof withRetry>[1]["onRetry"];
};

/** The OpenAI-compatible client: an undici transport with the retry layer on top. */
export function createClient(opts: ClientOptions): ChatClient {
  const transport = createTransport({
    baseUrl: opts.baseUrl,
    apiKey: opts.apiKey,
    connections: opts.concurrency,
    idleTimeoutMs: opts.server.idle_timeout * 1000,
    responseTimeoutMs: (opts.server.timeout ?? opts.timeoutSeconds) * 1000,
    totalTimeoutMs: opts.timeoutSeconds * 1000,
  });
  return withRetry(transport, {
    maxRetries: opts.server.max_retries,
    backoffMs: opts.server.backoff_ms,
    maxBackoffMs: opts.server.max_backoff_ms,
    onRetry: opts.onRetry,
  });
}
