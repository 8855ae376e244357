import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/create-client.js";
import type { ChatClient } from "../../src/client/types.js";
import { ServerSchema } from "../../src/config/generation-config.js";
import { ErrorCodes, VlmError } from "../../src/errors.js";

// Several --server_address values: the pool under the retry layer, against loopback servers.

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

type Loopback = { url: string; count: () => number };

/** A server that counts chat requests; `handler` answers the n-th (1-based). */
async function server(handler: (res: ServerResponse, n: number) => void): Promise<Loopback> {
  let n = 0;
  const srv: Server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on("end", () => handler(res, ++n));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  open.push(
    () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(r);
      }),
  );
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`, count: () => n };
}

const ANSWER = 'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
const healthy = (delayMs = 0) =>
  server((res) =>
    setTimeout(() => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(ANSWER);
    }, delayMs),
  );
const answering = (status: number) =>
  server((res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `answer ${status}`, type: "X", param: null, code: status } }));
  });

function client(urls: string[], concurrency = 4, server: Record<string, unknown> = {}): ChatClient {
  const c = createClient({
    baseUrl: urls,
    concurrency,
    timeoutSeconds: 60,
    server: ServerSchema.parse({ backoff_ms: 5, max_backoff_ms: 50, max_retries: 6, ...server }),
  });
  open.push(() => c.close());
  return c;
}

const req = { model: "m", messages: [{ role: "user" as const, content: "Q?" }], stream: true };

/** `rows` requests, `concurrency` at a time; every result or error. */
async function run(c: ChatClient, rows: number, concurrency: number) {
  let next = 0;
  const results: Array<{ ok: boolean; error?: unknown }> = [];
  const worker = async () => {
    while (next < rows) {
      next++;
      results.push(
        await c.chat(req).then(
          () => ({ ok: true }),
          (error: unknown) => ({ ok: false, error }),
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

describe("the server pool", () => {
  it.each([
    ["a 502 (a gateway whose backend is gone)", () => answering(502)],
    ["a 500", () => answering(500)],
    [
      "an error event inside a 200 stream",
      () =>
        server((res) => {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.end('data: {"error":{"message":"engine dead","type":"X"}}\n\n');
        }),
    ],
    [
      "a stream cut short",
      () =>
        server((res) => {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.end('data: {"choices":[{"index":0,"delta":{"content":"o"}}]}\n\n');
        }),
    ],
  ])("takes out a server that answers %s at once, and every row succeeds on the other", async (_, bad) => {
    const good = await healthy(20);
    const broken = await bad();
    const results = await run(client([broken.url, good.url], 8), 40, 8);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(good.count()).toBe(40);
    // The first round reaches it, then a probe per cooldown (1 s, then 2 s): far fewer than the rows.
    expect(broken.count()).toBeLessThan(10);
  });

  it("takes equal servers in turn, one request at a time too", async () => {
    const s = [await healthy(), await healthy(), await healthy()];
    await run(
      client(
        s.map((x) => x.url),
        1,
      ),
      30,
      1,
    );
    expect(s.map((x) => x.count())).toEqual([10, 10, 10]);
  });

  it("sends a retry to another server than the one that just failed", async () => {
    // Each server refuses the first request it sees (a 429, which takes no server out).
    const once = () =>
      server((res, n) => {
        if (n === 1) {
          res.writeHead(429, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: "slow down", code: 429 } }));
        } else {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.end(ANSWER);
        }
      });
    const a = await once();
    const b = await once();
    const r = await client([a.url, b.url], 1).chat(req);
    expect(r).toMatchObject({ content: "ok", attempts: 3 });
    // First server, then the other (its first request, refused too), then the first again.
    expect([a.count(), b.count()].sort()).toEqual([1, 2]);
  });

  it("starts a server marked down (it failed the start-up check) in cooldown: rows go to the others", async () => {
    const good = await healthy();
    const down = await healthy();
    const c = client([down.url, good.url], 4);
    c.markDown?.(down.url, new VlmError(ErrorCodes.CONNECTION, "cannot reach the server"));
    await run(c, 20, 4);
    expect(good.count()).toBe(20);
    expect(down.count()).toBe(0);
  });

  it("does not take out a server for a request's own fault (a 400)", async () => {
    let first = true;
    const picky = await server((res) => {
      if (first) {
        first = false;
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "bad request", code: 400 } }));
      } else {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(ANSWER);
      }
    });
    const other = await healthy();
    const c = client([picky.url, other.url], 1);
    await expect(c.chat(req)).rejects.toMatchObject({ code: "VLM_E_HTTP", status: 400 });
    await run(c, 10, 1);
    expect(picky.count()).toBeGreaterThan(1);
  });
});
