import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { getText } from "../../src/net/get-text.js";
import { loggingProxy } from "../helpers/logging-proxy.js";

// getText carries vlmpipe's set-up requests (GET /v1/models before a run, GET /health while a
// launched server loads): plain http with no proxy goes through node:http, anything else
// through undici's dispatcher with the environment's proxies (curl's and httpx's rules).

const closers: Array<() => void> = [];
const saved = { ...process.env };
afterEach(() => {
  for (const c of closers.splice(0)) c();
  for (const k of ["HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

async function server() {
  const seen: string[] = [];
  const s = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`.trim());
    if (req.url === "/health") res.writeHead(200).end("ok");
    else res.writeHead(404).end("no such page");
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  closers.push(() => s.close());
  return { base: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

describe("getText", () => {
  it("gets status and body directly when no proxy applies, headers sent", async () => {
    for (const k of ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]) delete process.env[k];
    const api = await server();
    expect(await getText(`${api.base}/health`, { timeoutMs: 5000, headers: { authorization: "Bearer k" } })).toEqual({
      statusCode: 200,
      text: "ok",
    });
    expect(await getText(`${api.base}/v1/models`, { timeoutMs: 5000 })).toEqual({
      statusCode: 404,
      text: "no such page",
    });
    expect(api.seen).toEqual(["GET /health Bearer k", "GET /v1/models"]);
  });

  it("fails with the connection's error code when nothing listens", async () => {
    const api = await server();
    closers.pop()?.();
    await new Promise((r) => setTimeout(r, 50));
    await expect(getText(`${api.base}/health`, { timeoutMs: 5000 })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("goes through HTTP_PROXY (the /health wait of a launched server too), and direct for NO_PROXY hosts", async () => {
    const proxy = await loggingProxy();
    closers.push(proxy.close);
    const api = await server();
    process.env.HTTP_PROXY = proxy.url;
    process.env.NO_PROXY = "";
    expect((await getText(`${api.base}/health`, { timeoutMs: 5000 })).statusCode).toBe(200);
    expect(proxy.log.map((e) => `${e.method} ${e.target}`)).toEqual([`GET ${api.base}/health`]);
    process.env.NO_PROXY = "127.0.0.1";
    expect((await getText(`${api.base}/health`, { timeoutMs: 5000 })).statusCode).toBe(200);
    expect(proxy.log).toHaveLength(1);
    expect(api.seen).toEqual(["GET /health", "GET /health"]);
  });
});
