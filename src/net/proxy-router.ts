// Loaded on first use (net-dispatcher.ts): importing it loads undici.
import { Agent, Dispatcher, ProxyAgent } from "undici";
import { type ProxySettings, proxyFor } from "./proxy-env.js";

/** undici options for the connections a router opens (directly or through a proxy). */
export type RouterOptions = Agent.Options;

/**
 * An undici dispatcher that sends each request directly or through the proxy the environment
 * names for its origin (proxy-env.ts: curl's and httpx's rules, ALL_PROXY included, which
 * undici's EnvHttpProxyAgent ignores). https goes through a CONNECT tunnel; plain http is
 * sent to the proxy as a forward request (absolute URL), as curl and httpx do.
 */
export class ProxyRouter extends Dispatcher {
  private readonly direct: Agent;
  private readonly proxied = new Map<string, ProxyAgent>();

  constructor(
    private readonly settings: ProxySettings,
    private readonly opts: RouterOptions = {},
  ) {
    super();
    this.direct = new Agent(opts);
  }

  /** The dispatcher requests to `origin` take: the direct agent or a proxy's. */
  route(origin: URL): Dispatcher {
    const proxy = proxyFor(origin, this.settings);
    if (!proxy) return this.direct;
    let agent = this.proxied.get(proxy.href);
    if (!agent) {
      agent = new ProxyAgent({ ...this.opts, uri: proxy.href, proxyTunnel: false });
      this.proxied.set(proxy.href, agent);
    }
    return agent;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.route(new URL(String(opts.origin))).dispatch(opts, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const p = Promise.all([this.direct, ...this.proxied.values()].map((d) => d.close())).then(() => {});
    if (callback) void p.then(callback);
    else return p;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === "function" ? null : (a ?? null);
    const callback = typeof a === "function" ? a : b;
    const p = Promise.all([this.direct, ...this.proxied.values()].map((d) => d.destroy(err))).then(() => {});
    if (callback) void p.then(callback);
    else return p;
  }
}
