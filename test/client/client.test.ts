import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/create-client.js";
import { ServerSchema } from "../../src/config/generation-config.js";
import type { VlmError } from "../../src/errors.js";
import { type SimServer, type SimServerOptionsInput, startSimServer } from "../../src/server/sim/sim-server.js";

const open: SimServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function sim(opts: SimServerOptionsInput = {}) {
  const s = await startSimServer({ model: "m", ...opts });
  open.push(s);
  return s;
}

function client(
  url: string,
  server: Record<string, unknown> = {},
  onRetry?: (i: { attempt: number; delayMs: number; error: VlmError }) => void,
) {
  return createClient({
    baseUrl: `${url}/v1`,
    concurrency: 4,
    timeoutSeconds: 60,
    server: ServerSchema.parse({ backoff_ms: 5, max_backoff_ms: 20_000, ...server }),
    onRetry,
  });
}

const req = (stream: boolean) => ({
  model: "m",
  messages: [{ role: "user" as const, content: "Question?\n\nA) a\nB) b" }],
  stream,
  ...(stream ? { stream_options: { include_usage: true } } : {}),
});

describe("the OpenAI-compatible client", () => {
  it.each([true, false])("reads content, finish_reason and usage (stream %s)", async (stream) => {
    const s = await sim();
    const c = client(s.url);
    const r = await c.chat(req(stream));
    expect(r.content).toMatch(/Answer: [AB]/);
    expect(r.finishReason).toBe("stop");
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);
    expect(r.attempts).toBe(1);
    await c.close();
  });

  it.each([true, false])("reads the server's reasoning field into reasoning (stream %s)", async (stream) => {
    const s = await sim({ reasoning: "field" });
    const c = client(s.url);
    const r = await c.chat(req(stream));
    expect(r.reasoning?.length).toBeGreaterThan(0);
    expect(r.content).toMatch(/Answer:/);
    await c.close();
  });

  it("reads the older reasoning_content field too", async () => {
    const s = await sim({ reasoning: "field", reasoning_field: "reasoning_content" });
    const c = client(s.url);
    expect((await c.chat(req(false))).reasoning?.length).toBeGreaterThan(0);
    await c.close();
  });

  it("retries a 503 and honours Retry-After", async () => {
    const s = await sim({ fail_first: 2, fail_status: 503, retry_after: 1 });
    const retries: { attempt: number; delayMs: number; status?: number }[] = [];
    const c = client(s.url, {}, ({ attempt, delayMs, error }) =>
      retries.push({ attempt, delayMs, status: error.status }),
    );
    const r = await c.chat(req(true));
    expect(r.attempts).toBe(3);
    expect(retries).toEqual([
      { attempt: 1, delayMs: 1000, status: 503 },
      { attempt: 2, delayMs: 1000, status: 503 },
    ]);
    await c.close();
  });

  it("retries a dropped connection", async () => {
    const s = await sim({ drop_rate: 1 });
    const c = client(s.url, { max_retries: 2 });
    const err = (await c.chat(req(true)).catch((e: unknown) => e)) as VlmError;
    expect(err.code).toBe("VLM_E_CONNECTION");
    expect(err.attempts).toBe(3);
    s.setFaults({ drop_rate: 0 });
    const r = await c.chat(req(true));
    expect(r.attempts).toBe(1);
    await c.close();
  });

  it("recovers when the connection drops only sometimes", async () => {
    const s = await sim({ drop_rate: 0.5, seed: 3 });
    const c = client(s.url, { max_retries: 10 });
    const results = await Promise.all(Array.from({ length: 8 }, () => c.chat(req(true))));
    expect(results.every((r) => r.content.includes("Answer:"))).toBe(true);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    await c.close();
  });

  it("does not retry a 400 and keeps the server's message", async () => {
    const s = await sim();
    const c = client(s.url);
    const bad = { ...req(true), messages: [{ role: "user", content: [{ type: "audio_clip", x: 1 }] }] } as never;
    const err = (await c.chat(bad).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status: 400, attempts: 1 });
    expect(err.message).toMatch(/HTTP 400: .*audio_clip/);
    expect(s.stats.chat).toBe(1);
    await c.close();
  });

  it("classifies vLLM's context-length 400 for a prompt that does not fit, and does not retry it", async () => {
    // The prompt alone (5 tokens to the simulator) takes the model's whole context of 5.
    const s = await sim({ max_model_len: 5 });
    const c = client(s.url);
    const err = (await c.chat({ ...req(true), max_tokens: 100 }).catch((e: unknown) => e)) as VlmError;
    expect(err.code).toBe("VLM_E_CONTEXT_LENGTH");
    expect(err.message).toMatch(/maximum context length is 5 tokens/);
    expect(s.stats.chat).toBe(1);
    await c.close();
  });

  it("fails a request whose prompt fits but max_tokens does not, saying to lower tokens_to_generate, once", async () => {
    const s = await sim({ max_model_len: 50 });
    const c = client(s.url);
    const err = (await c.chat({ ...req(true), max_tokens: 100 }).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status: 400, retryable: false, attempts: 1 });
    expect(err.message).toMatch(
      /lower \+\+inference\.tokens_to_generate to at most 45 for this row \(the model's maximum context length is 50 tokens, its prompt takes 5\)/,
    );
    expect(s.stats.chat).toBe(1);
    await c.close();
  });

  it("retries an error event inside a 200 stream", async () => {
    const s = await sim({ stream_error_rate: 1 });
    const c = client(s.url, { max_retries: 1 });
    const err = (await c.chat(req(true)).catch((e: unknown) => e)) as VlmError;
    expect(err.message).toMatch(/error in stream: Simulated engine error/);
    expect(err.attempts).toBe(2);
    await c.close();
  });

  it("handles the flat (older vLLM) error format", async () => {
    const s = await sim({ error_format: "flat" });
    const c = client(s.url);
    const err = (await c.chat({ ...req(false), model: "nope" }).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ status: 404 });
    expect(err.message).toMatch(/The model `nope` does not exist/);
    await c.close();
  });

  it("aborts a stream that goes silent for longer than idle_timeout, then retries", async () => {
    let calls = 0;
    const srv = createServer((req, res) => {
      calls++;
      req.resume();
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n');
      if (calls === 1) return; // stall forever
      res.end(
        'data: {"choices":[{"index":0,"delta":{"content":"Answer: B"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
      );
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const c = client(url, { idle_timeout: 0.3 });
    const r = await c.chat(req(true));
    expect(r).toMatchObject({ content: "Answer: B", attempts: 2 });
    await c.close();
    srv.closeAllConnections();
    await new Promise((r2) => srv.close(r2));
  });

  it("sends the API key only as the Authorization header", async () => {
    let auth: string | undefined;
    const srv = createServer((req, res) => {
      auth = req.headers.authorization;
      req.resume();
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "boom", code: 500 } }));
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const c = createClient({
      baseUrl: `${url}/v1`,
      apiKey: "sk-secret-123",
      concurrency: 1,
      timeoutSeconds: 10,
      server: ServerSchema.parse({ max_retries: 0 }),
    });
    const err = (await c.chat(req(false)).catch((e: unknown) => e)) as VlmError;
    expect(auth).toBe("Bearer sk-secret-123");
    expect(JSON.stringify(err)).not.toContain("sk-secret");
    expect(err.message).not.toContain("sk-secret");
    await c.close();
    await new Promise((r) => srv.close(r));
  });
});
