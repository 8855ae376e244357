import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/create-client.js";
import { ServerSchema } from "../../src/config/generation-config.js";
import type { VlmError } from "../../src/errors.js";
import { type SimServer, type SimServerOptionsInput, startSimServer } from "../../src/server/sim/sim-server.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function sim(opts: SimServerOptionsInput = {}): Promise<SimServer> {
  const s = await startSimServer({ model: "m", ...opts });
  open.push(s);
  return s;
}

function client(url: string, server: Record<string, unknown> = {}) {
  const c = createClient({
    baseUrl: `${url}/v1`,
    concurrency: 4,
    timeoutSeconds: 60,
    server: ServerSchema.parse({ backoff_ms: 5, max_backoff_ms: 50, ...server }),
  });
  open.push(c);
  return c;
}

const req = {
  model: "m",
  messages: [{ role: "user" as const, content: "Q?\n\nA) a\nB) b" }],
  stream: true,
  stream_options: { include_usage: true },
};

async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  open.push({
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("transient faults are retried", () => {
  it("a connection dropped in the middle of a stream", async () => {
    const s = await sim({ drop_mid_stream_rate: 1 });
    const err = (await client(s.url, { max_retries: 2 })
      .chat(req)
      .catch((e: unknown) => e)) as VlmError;
    expect(err.code).toBe("VLM_E_CONNECTION");
    expect(err.attempts).toBe(3);
  });

  it("malformed JSON in a 200 answer, then a good one", async () => {
    const s = await sim({ malformed_rate: 1 });
    const c = client(s.url, { max_retries: 1 });
    const err = (await c.chat(req).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_BAD_RESPONSE", attempts: 2 });
    s.setFaults({ malformed_rate: 0 });
    expect((await c.chat(req)).content).toMatch(/Answer:/);
  });

  it("a stalled stream is aborted after idle_timeout and tried again", async () => {
    const s = await sim({ stall_rate: 1, stall_ms: 60_000 });
    const c = client(s.url, { idle_timeout: 0.3, max_retries: 1 });
    const err = (await c.chat(req).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_TIMEOUT", attempts: 2 });
  });

  it("never cuts a long generation that keeps sending", async () => {
    // 12 chunks 100 ms apart: 1.2 s in all, with idle_timeout 0.5 s.
    const { url } = await rawServer((q, res) => {
      q.resume();
      res.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const t = setInterval(() => {
        if (++i <= 12) res.write(`data: {"choices":[{"index":0,"delta":{"content":"w${i} "}}]}\n\n`);
        else {
          clearInterval(t);
          res.end('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');
        }
      }, 100);
    });
    const r = await client(url, { idle_timeout: 0.5, max_retries: 0 }).chat(req);
    expect(r.content.trim().split(" ")).toHaveLength(12);
    expect(r.attempts).toBe(1);
  });

  it("a server that disappears and comes back on the same port", async () => {
    const first = await sim();
    const port = first.port;
    await first.close();
    const c = client(`http://127.0.0.1:${port}`, { max_retries: 8, backoff_ms: 100, max_backoff_ms: 400 });
    const pending = c.chat(req);
    await new Promise((r) => setTimeout(r, 300));
    await sim({ port });
    const r = await pending;
    expect(r.content).toMatch(/Answer:/);
    expect(r.attempts).toBeGreaterThan(1);
  });
});

describe("permanent faults are not retried and say why", () => {
  it.each([400, 401, 404, 422])("HTTP %i", async (status) => {
    let calls = 0;
    const { url } = await rawServer((q, res) => {
      calls++;
      q.resume();
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `nope ${status}`, type: "X", param: null, code: status } }));
    });
    const err = (await client(url)
      .chat(req)
      .catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status, attempts: 1 });
    // The error names the request; a 404 says what --server_address must look like.
    const hint =
      status === 404
        ? ": --server_address must be the server's OpenAI base URL, ending in /v1 (e.g. http://127.0.0.1:8000/v1)"
        : "";
    expect(err.message).toBe(`HTTP ${status}: nope ${status} (POST ${url}/v1/chat/completions)${hint}`);
    expect(calls).toBe(1);
  });

  it("records a context-length 400 as finish_reason model_length with the message, once", async () => {
    const dir = await tempDir();
    const data = await makeDataset(dir, 3, { images: false });
    const s = await sim({ model: "sim", max_model_len: 60, answer_rows: data.rows as never });
    const out = path.join(dir, "o.jsonl");
    const r = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      out,
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_address",
      `${s.url}/v1`,
      "--quiet",
      "++inference.tokens_to_generate=50",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseLines(await readFile(out, "utf8"));
    for (const row of rows) {
      expect(row).toMatchObject({ finish_reason: "model_length", generation: "", num_generated_tokens: 0 });
      expect(row.context_length_error).toMatch(/maximum context length is 60 tokens/);
      expect(row).not.toHaveProperty("error");
    }
    expect(s.stats.chat).toBe(3);
  });

  it("fails rows whose prompt fits but whose max_tokens does not, saying what to lower; a rerun retries them", async () => {
    const dir = await tempDir();
    const data = await makeDataset(dir, 3, { images: false });
    let tooLarge = true;
    let calls = 0;
    const { url } = await rawServer((q, res) => {
      q.resume();
      q.on("end", () => {
        if (q.url?.endsWith("/models")) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ object: "list", data: [{ id: "sim", max_model_len: 4096 }] }));
          return;
        }
        calls++;
        if (tooLarge) {
          // vLLM V1's answer when prompt + max_tokens exceed max_model_len, the prompt fitting.
          const message =
            "'max_tokens' or 'max_completion_tokens' is too large: 4000. This model's maximum context length is 4096 tokens and your request has 100 input tokens (4000 > 4096 - 100).";
          res.writeHead(400, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message, type: "BadRequestError", param: null, code: 400 } }));
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(
          'data: {"choices":[{"index":0,"delta":{"content":"Answer: A"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
        );
      });
    });
    const out = path.join(dir, "o.jsonl");
    const args = [
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      out,
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_address",
      `${url}/v1`,
      "--quiet",
      "++inference.tokens_to_generate=4000",
    ];
    const r = await cli(args);
    expect(r.code).not.toBe(0);
    const rows = parseLines(await readFile(out, "utf8"));
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row).not.toHaveProperty("finish_reason");
      expect(row.error).toMatchObject({ code: "VLM_E_HTTP", status: 400, attempts: 1 });
      expect((row.error as { message: string }).message).toMatch(
        /lower \+\+inference\.tokens_to_generate to at most 3996 for this row \(the model's maximum context length is 4096 tokens/,
      );
    }
    expect(calls).toBe(3);
    // The rows were not taken as answered: the next run sends them again.
    tooLarge = false;
    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    const rows2 = parseLines(await readFile(out, "utf8"));
    expect(rows2.map((x) => [x.generation, x.error])).toEqual([
      ["Answer: A", undefined],
      ["Answer: A", undefined],
      ["Answer: A", undefined],
    ]);
    expect(calls).toBe(6);
  });
});
