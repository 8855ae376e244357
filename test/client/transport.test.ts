import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/create-client.js";
import { createTransport } from "../../src/client/transport.js";
import { ServerSchema } from "../../src/config/generation-config.js";
import type { VlmError } from "../../src/errors.js";

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const srv: Server = createServer(handler);
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

function transport(url: string, o: { connections?: number; totalTimeoutMs?: number } = {}) {
  const t = createTransport({
    baseUrl: `${url}/v1`,
    connections: o.connections ?? 4,
    idleTimeoutMs: 60_000,
    responseTimeoutMs: 60_000,
    totalTimeoutMs: o.totalTimeoutMs ?? 60_000,
  });
  open.push(() => t.close());
  return t;
}

const req = (stream = true) => ({ model: "m", messages: [{ role: "user" as const, content: "Q?" }], stream });
const TOKEN = 'data: {"choices":[{"index":0,"delta":{"content":"w "}}]}\n\n';

/** A stream that sends a token every 20 ms and never ends (so only the total deadline stops it). */
const endless = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  res.writeHead(200, { "content-type": "text/event-stream" });
  const t = setInterval(() => res.write(TOKEN), 20);
  res.on("close", () => clearInterval(t));
};

describe("the transport's aborts", () => {
  it("stops a request that takes longer than the total timeout, and does not retry it", async () => {
    const url = await server(endless);
    const c = createClient({
      baseUrl: `${url}/v1`,
      concurrency: 2,
      timeoutSeconds: 0.3,
      server: ServerSchema.parse({ backoff_ms: 5 }),
    });
    open.push(() => c.close());
    const err = (await c.chat(req()).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_TIMEOUT", retryable: false, attempts: 1 });
    expect(err.message).toBe("the request took longer than ++inference.timeout");
  });

  it("times out every request, the one that waited for the connection too", async () => {
    const url = await server(endless);
    const t = transport(url, { connections: 1, totalTimeoutMs: 250 });
    const results = await Promise.all(
      [t.chat(req()), t.chat(req())].map((p) => p.catch((e: unknown) => e as VlmError)),
    );
    expect(results.map((e) => (e as VlmError).code)).toEqual(["VLM_E_TIMEOUT", "VLM_E_TIMEOUT"]);
  });

  it("aborts a request still waiting for a connection", async () => {
    const url = await server(endless);
    const t = transport(url, { connections: 1 });
    const a = new AbortController();
    const b = new AbortController();
    const first = t.chat(req(), { signal: a.signal }).catch((e: unknown) => e as VlmError);
    await new Promise((r) => setTimeout(r, 50));
    const second = t.chat(req(), { signal: b.signal }).catch((e: unknown) => e as VlmError);
    b.abort();
    // Settled while the first request still holds the only connection.
    expect(((await second) as VlmError).code).toBe("VLM_E_ABORTED");
    a.abort();
    expect(((await first) as VlmError).code).toBe("VLM_E_ABORTED");
  });

  it("aborts the calls in flight on the caller's signal (one signal for many calls), and no others", async () => {
    // Streaming requests never end here; the others are answered at once.
    const url = await server((req, res) => {
      let body = "";
      req.on("data", (b: Buffer) => (body += b));
      req.on("end", () => {
        if (body.includes('"stream":true')) return endless(req, res);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ index: 0, message: { content: "B" }, finish_reason: "stop" }] }));
      });
    });
    const t = transport(url, { connections: 16 });
    const ac = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const slow = Array.from({ length: 12 }, () =>
        t.chat(req(), { signal: ac.signal }).catch((e: unknown) => e as VlmError),
      );
      await new Promise((r) => setTimeout(r, 100));
      ac.abort();
      const errors = await Promise.all(slow);
      expect(errors.map((e) => (e as VlmError).code)).toEqual(Array(12).fill("VLM_E_ABORTED"));
      // An aborted signal stops a call at once; the transport still works for other calls.
      await expect(t.chat(req(), { signal: ac.signal })).rejects.toMatchObject({ code: "VLM_E_ABORTED" });
      await expect(t.chat(req(false), { signal: new AbortController().signal })).resolves.toMatchObject({
        content: "B",
      });
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it("reads an AbortSignal.timeout() as a timeout", async () => {
    const url = await server(endless);
    const t = transport(url);
    await expect(t.chat(req(), { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ code: "VLM_E_TIMEOUT" });
  });
});

describe("the transport's answers", () => {
  it("reads a non-streaming body that starts with a BOM, in pieces", async () => {
    const body = JSON.stringify({
      choices: [{ index: 0, message: { content: "B é" }, finish_reason: "stop" }],
      usage: { completion_tokens: 2 },
    });
    const url = await server((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]);
      res.write(bytes.subarray(0, 10));
      setTimeout(() => res.end(bytes.subarray(10)), 20);
    });
    await expect(transport(url).chat(req(false))).resolves.toEqual({
      content: "B é",
      finishReason: "stop",
      usage: { completion_tokens: 2 },
    });
  });

  it("keeps every answer whole while many arrive at once, each over several reads", async () => {
    // The pool reads every socket into one reused buffer: what an answer keeps must be a copy.
    const url = await server((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const n = (JSON.parse(body) as { messages: Array<{ content: string }> }).messages[0]!.content;
        const content = `${n}:`.repeat(30_000); // ~100-200 KB: several socket reads
        const stream = (JSON.parse(body) as { stream: boolean }).stream;
        if (!stream) {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ choices: [{ index: 0, message: { content }, finish_reason: "stop" }] }));
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (let i = 0; i < content.length; i += 50_000)
          res.write(
            `data: {"choices":[{"index":0,"delta":{"content":${JSON.stringify(content.slice(i, i + 50_000))}}}]}\n\n`,
          );
        res.end('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');
      });
    });
    const t = transport(url, { connections: 8 });
    const ask = (i: number, stream: boolean) =>
      t.chat({ model: "m", messages: [{ role: "user", content: String(i) }], stream });
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(i, i % 2 === 0)));
    results.forEach((r, i) => expect(r.content).toBe(`${i}:`.repeat(30_000)));
  });

  it("keeps the status, the server's message and Retry-After of an error answer", async () => {
    const url = await server((req, res) => {
      req.resume();
      res.writeHead(429, { "content-type": "application/json", "retry-after": "7" });
      res.end(JSON.stringify({ error: { message: "slow down", code: 429 } }));
    });
    await expect(transport(url).chat(req())).rejects.toMatchObject({
      code: "VLM_E_HTTP",
      status: 429,
      retryable: true,
      retryAfter: 7,
      message: `HTTP 429: slow down (POST ${url}/v1/chat/completions)`,
    });
  });

  it("stops reading a stream at an error event", async () => {
    const url = await server((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`${TOKEN}data: {"error":{"message":"boom","code":500}}\n\n`);
    });
    const t = transport(url, { connections: 1 });
    await expect(t.chat(req())).rejects.toMatchObject({
      code: "VLM_E_HTTP",
      retryable: true,
      message: `error in stream: boom (POST ${url}/v1/chat/completions)`,
    });
    await expect(t.chat(req())).rejects.toMatchObject({
      message: `error in stream: boom (POST ${url}/v1/chat/completions)`,
    });
  });

  it("reads a 200 answered with JSON to a streamed request as that JSON: an error (either shape) or a completion", async () => {
    const bodies: Record<string, unknown> = {
      nested: { error: { message: "The model `x` does not exist.", type: "NotFoundError", param: null, code: 404 } },
      flat: {
        object: "error",
        message: "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens.",
        type: "BadRequestError",
        param: null,
        code: 400,
      },
      completion: {
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: "The answer is B" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
      },
    };
    let calls = 0;
    const url = await server((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        calls++;
        const which = (JSON.parse(body) as { messages: Array<{ content: string }> }).messages[0]!.content;
        res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(bodies[which]));
      });
    });
    const c = createClient({
      baseUrl: `${url}/v1`,
      concurrency: 1,
      timeoutSeconds: 60,
      server: ServerSchema.parse({ backoff_ms: 5, max_retries: 3 }),
    });
    open.push(() => c.close());
    const ask = (content: string) =>
      c.chat({ model: "m", messages: [{ role: "user", content }], stream: true }).catch((e: unknown) => e);
    expect(await ask("nested")).toMatchObject({ code: "VLM_E_HTTP", status: 404, attempts: 1 });
    expect(await ask("flat")).toMatchObject({ code: "VLM_E_CONTEXT_LENGTH", status: 400, attempts: 1 });
    expect(await ask("completion")).toEqual({
      content: "The answer is B",
      finishReason: "stop",
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
      attempts: 1,
    });
    expect(calls).toBe(3);
  });

  /** A non-streamed request to a server that never answers, past a ++server.timeout of 100 ms. */
  async function silentTimeout(): Promise<VlmError> {
    const silent = await server((req) => req.resume());
    const t = createTransport({
      baseUrl: `${silent}/v1`,
      connections: 1,
      idleTimeoutMs: 60_000,
      responseTimeoutMs: 100,
      totalTimeoutMs: 60_000,
    });
    open.push(() => t.close());
    return (await t.chat(req(false)).catch((e: unknown) => e)) as VlmError;
  }

  it("names ++server.timeout, not ++server.idle_timeout, when a non-streamed answer does not come in time", async () => {
    const err = await silentTimeout();
    expect(err).toMatchObject({ code: "VLM_E_TIMEOUT", retryable: true });
    expect(err.message).toContain("see ++server.timeout");
    expect(err.message).not.toContain("idle_timeout");
  });

  it("reads the pool's failures as retryable connection errors and timeouts", async () => {
    // Cut off mid-answer: the server's process died, say.
    const cut = await server((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(TOKEN, () => res.destroy());
    });
    await expect(transport(cut).chat(req())).rejects.toMatchObject({ code: "VLM_E_CONNECTION", retryable: true });
    // Silent past ++server.timeout: the headers never come.
    const err = await silentTimeout();
    expect(err).toMatchObject({ code: "VLM_E_TIMEOUT", retryable: true });
    expect(err.message).toContain("HEADERS_TIMEOUT");
  });
});
