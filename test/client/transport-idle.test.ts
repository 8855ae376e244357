import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createTransport } from "../../src/client/transport.js";
import type { VlmError } from "../../src/errors.js";
import { readProxyEnv } from "../../src/net/proxy-env.js";

// ++server.idle_timeout against vLLM's queue: vLLM sends a streamed answer's headers at once and
// its first event only when the request is scheduled, which at high concurrency can be long
// after. Both pools are checked: vlmpipe's own (plain http) and undici (here through a forward
// proxy, as plain http with HTTP_PROXY goes; https takes the same path in undici).

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

async function listen(srv: Server): Promise<string> {
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  open.push(
    () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(r);
      }),
  );
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

/** Counts requests; answers each with `handler`. */
async function server(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  let n = 0;
  const url = await listen(
    createServer((req, res) => {
      n++;
      req.resume();
      handler(req, res);
    }),
  );
  return { url, count: () => n };
}

/** A forward proxy that passes the answer's headers on at once, as the server sent them; counts requests. */
let proxied = 0;
async function proxy(): Promise<string> {
  return listen(
    createServer((req, res) => {
      proxied++;
      const u = new URL(req.url ?? "");
      const up = request(
        { host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          res.flushHeaders();
          r.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    }),
  );
}

const TOKEN = 'data: {"choices":[{"index":0,"delta":{"content":"w "}}]}\n\n';
const END = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
const req = { model: "m", messages: [{ role: "user" as const, content: "Q?" }], stream: true };

/** Headers at once, then `queueMs` of silence (waiting to be scheduled), then `tokens` tokens 30 ms apart. */
const queued = (queueMs: number, tokens: number) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  let i = 0;
  let t: NodeJS.Timeout = setTimeout(function next() {
    if (res.destroyed) return;
    if (i++ < tokens) {
      res.write(TOKEN);
      t = setTimeout(next, 30);
    } else res.end(END);
  }, queueMs);
  res.on("close", () => clearTimeout(t));
};

const paths = [
  ["vlmpipe's own pool", false],
  ["undici", true],
] as const;

async function transport(url: string, viaProxy: boolean, o: { idleTimeoutMs: number; totalTimeoutMs?: number }) {
  const t = createTransport({
    baseUrl: `${url}/v1`,
    connections: 4,
    idleTimeoutMs: o.idleTimeoutMs,
    responseTimeoutMs: 60_000,
    totalTimeoutMs: o.totalTimeoutMs ?? 60_000,
    proxy: readProxyEnv(viaProxy ? { http_proxy: await proxy() } : {}),
  });
  open.push(() => t.close());
  return t;
}

describe.each(paths)("the idle clock of a stream (%s)", (_, viaProxy) => {
  it("starts at the body's first event: a request waiting in the server's queue longer than idle_timeout is kept", async () => {
    // 2 s in the queue: undici's body timeout (a coarse timer, ~0.5-1 s late) would fire well before.
    const s = await server(queued(2000, 5));
    const t = await transport(s.url, viaProxy, { idleTimeoutMs: 200 });
    const before = proxied;
    const r = await t.chat(req);
    expect(r).toMatchObject({ content: "w w w w w ", finishReason: "stop" });
    expect(s.count()).toBe(1);
    expect(proxied - before).toBe(viaProxy ? 1 : 0);
  });

  it("aborts a stream that goes silent after its first event, as retryable", async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(TOKEN);
    });
    const t = await transport(s.url, viaProxy, { idleTimeoutMs: 200 });
    const err = (await t.chat(req).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_TIMEOUT", retryable: true });
    expect(err.message).toContain("++server.idle_timeout");
  });

  it("aborts, as retryable, a stream whose headers do not come within idle_timeout (a server that stopped answering)", async () => {
    // vLLM sends a stream's headers at once, queued or not: none at all is a hung server.
    const s = await server(() => {});
    const t = await transport(s.url, viaProxy, { idleTimeoutMs: 300, totalTimeoutMs: 20_000 });
    const err = (await t.chat(req).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_TIMEOUT", retryable: true });
    expect(err.message).toBe("the server sent no answer headers in time; see ++server.idle_timeout");
  });

  it("bounds the wait before the first event by the total deadline (++inference.timeout) alone", async () => {
    const s = await server(queued(60_000, 1));
    const t = await transport(s.url, viaProxy, { idleTimeoutMs: 100, totalTimeoutMs: 1500 });
    const err = (await t.chat(req).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_TIMEOUT", retryable: false });
    expect(err.message).toBe("the request took longer than ++inference.timeout");
  });
});
