import { describe, expect, it } from "vitest";
import { proxyFor, readProxyEnv, redactProxy } from "../../src/net/proxy-env.js";

const via = (target: string, env: Record<string, string>) => proxyFor(new URL(target), readProxyEnv(env))?.href;

describe("the proxy rule (curl's and httpx's)", () => {
  it("takes http_proxy for http, https_proxy for https, ALL_PROXY for either, lower case first", () => {
    expect(via("http://a.example/v1", { HTTP_PROXY: "http://up:1" })).toBe("http://up:1/");
    expect(via("http://a.example/v1", { http_proxy: "http://low:1", HTTP_PROXY: "http://up:1" })).toBe("http://low:1/");
    expect(via("https://a.example/v1", { HTTPS_PROXY: "http://s:1", HTTP_PROXY: "http://h:1" })).toBe("http://s:1/");
    expect(via("https://a.example/v1", { ALL_PROXY: "socks5://all:1080", HTTP_PROXY: "http://h:1" })).toBe(
      "socks5://all:1080",
    );
    expect(via("http://a.example/v1", { all_proxy: "http://all:1" })).toBe("http://all:1/");
  });

  it("never sends https to HTTP_PROXY (undici's EnvHttpProxyAgent does; curl and httpx do not)", () => {
    expect(via("https://a.example/v1", { HTTP_PROXY: "http://h:1" })).toBeUndefined();
  });

  it("reads an empty variable as unset and a proxy without a scheme as http://", () => {
    expect(via("http://a.example", { http_proxy: "", HTTP_PROXY: "up:3128" })).toBe("http://up:3128/");
    expect(via("http://a.example", { HTTP_PROXY: " " })).toBeUndefined();
  });

  it("bypasses NO_PROXY hosts: exact, as a domain suffix (with or without a dot), by port, by range, and *", () => {
    const env = (no: string) => ({ HTTP_PROXY: "http://p:1", HTTPS_PROXY: "http://p:1", NO_PROXY: no });
    expect(via("http://gpu1.cluster.local:8000", env("cluster.local"))).toBeUndefined();
    expect(via("http://gpu1.cluster.local:8000", env(".cluster.local"))).toBeUndefined();
    expect(via("http://gpu1.cluster.local:8000", env("*.cluster.local"))).toBeUndefined();
    expect(via("http://cluster.local", env("cluster.local"))).toBeUndefined();
    // A suffix matches at a dot only.
    expect(via("http://notcluster.local", env("cluster.local"))).toBe("http://p:1/");
    expect(via("http://h:8000", env("h:8000"))).toBeUndefined();
    expect(via("http://h:9000", env("h:8000"))).toBe("http://p:1/");
    expect(via("https://h", env("h:443"))).toBeUndefined();
    expect(via("http://10.1.2.3:8000", env("10.0.0.0/8"))).toBeUndefined();
    expect(via("http://11.1.2.3:8000", env("10.0.0.0/8"))).toBe("http://p:1/");
    expect(via("http://[::1]:8000", env("::1"))).toBeUndefined();
    expect(via("http://any.where", env("localhost, *"))).toBeUndefined();
    expect(via("http://LOCALHOST:1", env("a.b localhost"))).toBeUndefined();
    expect(via("http://h", { HTTP_PROXY: "http://p:1", no_proxy: "h", NO_PROXY: "other" })).toBeUndefined();
  });

  it("shows a proxy without its credentials, and refuses what is not a proxy URL without repeating it", () => {
    expect(redactProxy("http://user:s3cret@proxy:3128")).toBe("http://proxy:3128");
    expect(() => readProxyEnv({ HTTP_PROXY: "ftp://user:s3cret@proxy" })).toThrow(/^proxy ftp:\/\/proxy: only http/);
    expect(() => readProxyEnv({ HTTP_PROXY: "http://user:s3cret@[bad" })).toThrow(/is not a URL/);
    expect(() => readProxyEnv({ HTTP_PROXY: "http://user:s3cret@[bad" })).not.toThrow(/s3cret/);
  });
});
