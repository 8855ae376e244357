import net from "node:net";
import { UsageError } from "../errors.js";
import { isReachedDirectly } from "./direct-origins.js";

/**
 * Which proxy, if any, a connection to a URL goes through, from the environment as curl and
 * httpx (NeMo-Skills' client) read it:
 * - http:// URLs: `http_proxy`, else `HTTP_PROXY`, else `all_proxy` / `ALL_PROXY`;
 * - https:// URLs: `https_proxy`, else `HTTPS_PROXY`, else `all_proxy` / `ALL_PROXY`
 *   (never `HTTP_PROXY`: undici's EnvHttpProxyAgent falls back to it, curl and httpx do not);
 * - lower case first; an empty variable counts as unset;
 * - `no_proxy`, else `NO_PROXY`: entries split on commas or spaces; `*` bypasses every host;
 *   `example.com`, `.example.com` and `*.example.com` match that host and its subdomains;
 *   `host:port` only that port; IP addresses exactly, `10.0.0.0/8` (and IPv6 prefixes) by range.
 * A proxy URL without a scheme is http:// (curl's default); socks5:// and socks5h:// are SOCKS5,
 * the host name resolved by the proxy for both (undici's way; curl resolves it locally for
 * socks5://); SOCKS4 (socks4://, socks4a://, and socks://, SOCKS4 in curl) is refused. Its credentials are used
 * (Proxy-Authorization) and never shown: see redactProxy.
 */
export type ProxySettings = {
  http?: URL;
  https?: URL;
  /** Nothing goes through a proxy (`NO_PROXY=*`). */
  bypassAll: boolean;
  noProxy: NoProxyEntry[];
  /** IP ranges of the CIDR entries. */
  ranges: net.BlockList;
};

type NoProxyEntry = { host: string; port: number };

type Env = Record<string, string | undefined>;

export function readProxyEnv(env: Env = process.env): ProxySettings {
  const all = first(env, "all_proxy", "ALL_PROXY");
  const http = first(env, "http_proxy", "HTTP_PROXY") ?? all;
  const https = first(env, "https_proxy", "HTTPS_PROXY") ?? all;
  const settings: ProxySettings = {
    http: http === undefined ? undefined : proxyUrl(http),
    https: https === undefined ? undefined : proxyUrl(https),
    bypassAll: false,
    noProxy: [],
    ranges: new net.BlockList(),
  };
  for (const raw of (first(env, "no_proxy", "NO_PROXY") ?? "").split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") {
      settings.bypassAll = true;
      continue;
    }
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    const ip = cidr ? stripBrackets(cidr[1] as string) : "";
    if (cidr && net.isIP(ip)) {
      settings.ranges.addSubnet(ip, Number(cidr[2]), net.isIPv6(ip) ? "ipv6" : "ipv4");
      continue;
    }
    // host:port, [v6]:port; a bare IPv6 address has colons but no port.
    const hp = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    const host = hp ? (hp[1] as string) : entry;
    settings.noProxy.push({ host: stripBrackets(host).replace(/^\*?\./, ""), port: hp ? Number(hp[2]) : 0 });
  }
  return settings;
}

/** The proxy for a connection to `target`, or undefined to connect directly. */
export function proxyFor(target: URL, s: ProxySettings): URL | undefined {
  const proxy = target.protocol === "https:" ? s.https : target.protocol === "http:" ? s.http : undefined;
  if (!proxy || s.bypassAll) return undefined;
  // A server this process started on this machine (see direct-origins.ts).
  if (isReachedDirectly(target)) return undefined;
  const host = stripBrackets(target.hostname.toLowerCase());
  const port = Number(target.port) || (target.protocol === "https:" ? 443 : 80);
  for (const e of s.noProxy) {
    if (e.port && e.port !== port) continue;
    if (host === e.host || host.endsWith(`.${e.host}`)) return undefined;
  }
  const family = net.isIP(host);
  if (family && s.ranges.check(host, family === 6 ? "ipv6" : "ipv4")) return undefined;
  return proxy;
}

/** A proxy URL as it may be shown: no user name, no password. */
export function redactProxy(u: URL | string): string {
  const url = new URL(String(u));
  return `${url.protocol}//${url.host}`;
}

function first(env: Env, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n]?.trim();
    if (v) return v;
  }
  return undefined;
}

function proxyUrl(value: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    // The value may hold a password: it is not repeated.
    throw new UsageError(
      "a proxy variable (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) is not a URL, e.g. http://proxy:3128",
    );
  }
  if (["socks4:", "socks4a:", "socks:"].includes(u.protocol)) {
    // curl reads socks:// as SOCKS4; undici speaks SOCKS5 only.
    throw new UsageError(`proxy ${redactProxy(u)}: SOCKS4 proxies are not supported; use socks5:// or socks5h://`);
  }
  // undici sends the host name to a SOCKS5 proxy to resolve (socks5h:// in curl) either way.
  if (u.protocol === "socks5h:") u.protocol = "socks5:";
  if (!["http:", "https:", "socks5:"].includes(u.protocol)) {
    throw new UsageError(
      `proxy ${redactProxy(u)}: only http://, https://, socks5:// and socks5h:// proxies are supported`,
    );
  }
  return u;
}

function stripBrackets(h: string): string {
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}
