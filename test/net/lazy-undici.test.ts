import { describe, expect, it } from "vitest";
import { tracedGenerateRuns } from "../helpers/imports-of-run.js";
import { loggingProxy } from "../helpers/logging-proxy.js";

// undici is loaded on first use (src/net/undici.ts): a run against a plain-http server with
// no proxy sends everything on vlmpipe's own pool and node:http, and never pays for undici
// (~0.4 s of CPU and ~55 MB a process). A proxied run still uses it.

const packagesImported = tracedGenerateRuns();

describe("undici on demand", () => {
  it("is not loaded by a plain-http run with image rows, and is by a proxied one", async () => {
    const direct = await packagesImported("direct", {
      env: { HTTP_PROXY: "", http_proxy: "", ALL_PROXY: "", all_proxy: "" },
    });
    expect(direct.has("node:net")).toBe(true); // the trace works (the own pool's sockets)
    expect(direct.has("undici")).toBe(false);
    const proxy = await loggingProxy();
    try {
      const proxied = await packagesImported("proxied", { env: { HTTP_PROXY: proxy.url } });
      expect(proxied.has("undici")).toBe(true);
      expect(proxy.log.map((e) => e.method)).toContain("POST");
    } finally {
      proxy.close();
    }
  });
});
