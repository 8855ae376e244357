import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { transportError } from "../../src/client/http-error.js";
import { readProxyEnv } from "../../src/net/proxy-env.js";
import { proxyAuthRefusal } from "../../src/net/proxy-errors.js";
import { ProxyRouter } from "../../src/net/proxy-router.js";
import { loggingProxy } from "../helpers/logging-proxy.js";
import { socks5Proxy } from "../helpers/socks5-proxy.js";

// The errors undici reports when a proxy refuses us or cannot reach the server, as they come
// from loopback proxies (an HTTP forward/CONNECT proxy, a SOCKS5 one), not written by hand.

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** What a GET to `url` through `proxy` (ALL_PROXY) throws. */
async function failure(proxy: string, url: string): Promise<unknown> {
  const dispatcher = new ProxyRouter(readProxyEnv({ ALL_PROXY: proxy }));
  try {
    await request(url, { dispatcher, headersTimeout: 5000 });
  } catch (e) {
    return e;
  } finally {
    await dispatcher.destroy();
  }
  throw new Error("the request went through");
}

describe("a proxy's refusal", () => {
  it("is told apart from a failure to reach the server, and not retried", async () => {
    const http = await loggingProxy("u:right");
    const socks = await socks5Proxy("u:right");
    closers.push(http.close, socks.close);
    // 127.0.0.1:9 (discard) has no listener here: the proxies cannot reach it.
    const refused = [
      [`http://u:bad@127.0.0.1:${http.port}`, "http://127.0.0.1:9/", "HTTP 407 Proxy Authentication Required"],
      [`http://u:bad@127.0.0.1:${http.port}`, "https://127.0.0.1:9/", "HTTP 407 Proxy Authentication Required"],
      [`socks5://u:bad@127.0.0.1:${socks.port}`, "http://127.0.0.1:9/", "SOCKS5 user name or password refused"],
      [
        `socks5://127.0.0.1:${socks.port}`,
        "http://127.0.0.1:9/",
        "SOCKS5: none of the authentication methods offered is accepted",
      ],
    ];
    for (const [proxy, url, reason] of refused) {
      const e = await failure(proxy!, url!);
      expect(proxyAuthRefusal(e)).toBe(reason);
      const v = transportError(e);
      expect(v.retryable).toBe(false);
      expect(v.message).toBe(`the proxy refused us: ${reason}`);
      expect(v.message).not.toContain("bad");
    }
    // Let in, but the server is down: a connection failure, retried as a direct one is.
    const down = await failure(`socks5://u:right@127.0.0.1:${socks.port}`, "http://127.0.0.1:9/");
    expect(proxyAuthRefusal(down)).toBeUndefined();
    expect(transportError(down).retryable).toBe(true);
    const noProxy = await failure("socks5://127.0.0.1:9", "http://127.0.0.1:9/");
    expect(proxyAuthRefusal(noProxy)).toBeUndefined();
    expect(transportError(noProxy).retryable).toBe(true);
  });
});
