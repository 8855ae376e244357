import { createClient } from "../client/create-client.js";
import type { ChatClient } from "../client/types.js";
import type { GenerationConfig } from "../config/generation-config.js";
import { normalizeServerAddress } from "./server-address.js";

type Hooks = Pick<Parameters<typeof createClient>[0], "onRetry" | "onDown" | "onUp">;

/**
 * The run's one way to build clients: the main client (the servers of --server_address) and
 * those a chain's stages ask for (a judge's own server) share the key, concurrency, server
 * settings and timeouts; every client built is closed by `close()`.
 */
export class RunClients {
  private readonly built: ChatClient[] = [];

  constructor(private readonly o: { apiKey?: string; concurrency: number; config: GenerationConfig }) {}

  /** A client for `baseUrl` (one address or several to spread requests over). */
  create(baseUrl: string | string[], hooks: Hooks = {}): ChatClient {
    const c = createClient({
      baseUrl: typeof baseUrl === "string" ? normalizeServerAddress(baseUrl) : baseUrl,
      apiKey: this.o.apiKey,
      concurrency: this.o.concurrency,
      server: this.o.config.server,
      timeoutSeconds: this.o.config.inference.timeout,
      ...hooks,
    });
    this.built.push(c);
    return c;
  }

  async close(): Promise<void> {
    await Promise.all(this.built.map((c) => c.close()));
  }
}
