import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/create-client.js";
import { PartialAnswers } from "../../src/client/partial-answers.js";
import type { ChatClient } from "../../src/client/types.js";
import { ServerSchema } from "../../src/config/generation-config.js";
import { InflightLog } from "../../src/output/inflight-log.js";

// A continuation (resume_partial: a retried row sends its text so far with
// continue_final_message) answered with a context-length 400: the saved text plus the
// template's tokens no longer fit. That row restarts; the server did not refuse continuations.

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

const N = 400; // tokens of an answer
const CUT = 300; // where each row's first stream is cut

const PROMPT_TOO_LONG =
  "This model's maximum context length is 4096 tokens. However, your request has 4100 input tokens. Please reduce the length of the input messages.";
const MAX_TOKENS_TOO_LARGE =
  "This model's maximum context length is 4096 tokens. However, you requested 4110 tokens (4010 in the messages, 100 in the completion). Please reduce the length of the messages or completion.";

type Seen = { row: string; continuation: boolean };

/**
 * Streams N tokens per row; each row's first stream is cut at CUT. A continuation of a row in
 * `tooLong` is answered 400 with `message`, any other continuation streams the rest.
 */
async function server(tooLong: Set<string>, message: string) {
  const seen: Seen[] = [];
  const cut = new Set<string>();
  const tok = (i: number) =>
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: `w${i} ` }, finish_reason: i === N - 1 ? "stop" : null }] })}\n\n`;
  const srv: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const b = JSON.parse(body) as { messages: Array<{ role: string; content: string }> };
      const row = b.messages[0]!.content;
      const continuation = b.messages.at(-1)!.role === "assistant";
      seen.push({ row, continuation });
      if (continuation && tooLong.has(row)) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "error", message, type: "BadRequestError", param: null, code: 400 }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      let out = "";
      for (let i = continuation ? CUT : 0; i < N; i++) {
        if (!continuation && i === CUT && !cut.has(row)) {
          cut.add(row);
          res.write(out);
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        out += tok(i);
      }
      res.end(`${out}data: [DONE]\n\n`);
    });
  });
  return { url: await listen(srv), seen };
}

/** Listens on loopback, closed after the test; the server's OpenAI base URL. */
async function listen(srv: Server): Promise<string> {
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  open.push(
    () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(r);
      }),
  );
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
}

function client(url: string): ChatClient {
  const c = createClient({
    baseUrl: url,
    concurrency: 2,
    timeoutSeconds: 60,
    server: ServerSchema.parse({ backoff_ms: 5, max_retries: 2 }),
  });
  open.push(() => c.close());
  return c;
}

const request = (row: string) => ({
  model: "m",
  messages: [{ role: "user" as const, content: row }],
  stream: true,
  max_tokens: 1000,
});

describe("a continuation that does not fit the model's context", () => {
  it.each([
    ["the prompt", PROMPT_TOO_LONG],
    ["prompt + max_tokens", MAX_TOKENS_TOO_LARGE],
  ])("(%s) restarts that row alone; later rows still continue", async (_, message) => {
    const s = await server(new Set(["row0"]), message);
    const notes: string[] = [];
    const partial = new PartialAnswers({
      minTokens: 256,
      markers: { start: "<think>", end: "</think>" },
      note: (l) => notes.push(l),
    });
    const c = client(s.url);
    const row0 = await partial.start(0, request("row0")).chat(c, new AbortController().signal);
    const row1 = await partial.start(1, request("row1")).chat(c, new AbortController().signal);
    await partial.close();
    const whole = Array.from({ length: N }, (_, i) => `w${i} `).join("");
    // row0: cut, its continuation refused for length, then whole from scratch.
    expect(row0).toMatchObject({ content: whole, restarted: true, continuedAt: [] });
    expect(s.seen.filter((x) => x.row === "row0").map((x) => x.continuation)).toEqual([false, true, false]);
    // row1: cut and continued, as if nothing had happened to row0.
    expect(row1).toMatchObject({ content: whole, restarted: false, continuedAt: [CUT] });
    expect(s.seen.filter((x) => x.row === "row1").map((x) => x.continuation)).toEqual([false, true]);
    expect(partial.refused).toBe(false);
    expect(notes.join("\n")).not.toMatch(/refused continue_final_message/);
  });

  it("a continuation answered with another 400 still ends continuations for the run", async () => {
    const s = await server(
      new Set(["row0"]),
      "the final message does not appear in the chat after applying the chat template",
    );
    const notes: string[] = [];
    const partial = new PartialAnswers({
      minTokens: 256,
      markers: { start: "<think>", end: "</think>" },
      note: (l) => notes.push(l),
    });
    const c = client(s.url);
    const row0 = await partial.start(0, request("row0")).chat(c, new AbortController().signal);
    const row1 = await partial.start(1, request("row1")).chat(c, new AbortController().signal);
    await partial.close();
    expect(row0).toMatchObject({ restarted: true });
    expect(row1).toMatchObject({ restarted: false, continuedAt: [] });
    expect(s.seen.filter((x) => x.row === "row1").map((x) => x.continuation)).toEqual([false, false]);
    expect(partial.refused).toBe(true);
    expect(notes.join("\n")).toMatch(/refused continue_final_message/);
  });
});

// A reasoning model behind a parser that, like vLLM's deepseek_r1 (and qwen3 before vLLM
// routed a prompt that already ends its thinking to content), sends a continuation's whole
// output as reasoning when the saved text already holds `</think>`: the parser sees no end
// marker in what it generates.
const NR = 100; // reasoning tokens
const NC = 300; // answer tokens
const piece = (i: number) => (i < NR ? `r${i} ` : `c${i - NR} `);
const thinking = Array.from({ length: NR }, (_, i) => piece(i)).join("");
const answer = Array.from({ length: NC }, (_, i) => piece(NR + i)).join("");

/** Streams the row's answer; each stream that starts before token `cuts[k]` is cut there. */
async function thinkingServer(cuts: number[]) {
  const continued: string[] = [];
  const srv: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const b = JSON.parse(body) as { messages: Array<{ role: string; content: string }> };
      const last = b.messages.at(-1)!;
      let from = 0;
      let afterThinking = false;
      if (last.role === "assistant") {
        continued.push(last.content);
        const whole = `<think>${thinking}</think>${answer}`;
        let text = "<think>";
        while (text.length < last.content.length && from < NR + NC) {
          if (from === NR) text += "</think>";
          text += piece(from++);
        }
        if (text !== last.content || !whole.startsWith(text)) {
          res.writeHead(400, { "content-type": "application/json" });
          res.end(JSON.stringify({ object: "error", message: "not a prefix", type: "BadRequestError", code: 400 }));
          return;
        }
        afterThinking = last.content.includes("</think>");
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const cut = cuts.find((c) => c > from);
      let out = "";
      for (let i = from; i < NR + NC; i++) {
        if (i === cut) {
          res.write(out);
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        const key = i < NR || afterThinking ? "reasoning" : "content";
        const chunk = {
          choices: [{ index: 0, delta: { [key]: piece(i) }, finish_reason: i === NR + NC - 1 ? "stop" : null }],
        };
        out += `data: ${JSON.stringify(chunk)}\n\n`;
      }
      res.end(`${out}data: [DONE]\n\n`);
    });
  });
  return { url: await listen(srv), continued };
}

describe("a continuation after the thinking ended, which the parser sends as reasoning", () => {
  it("is content when it is cut again, on a retry and in the saved text a rerun continues", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vlm-after-think-"));
    open.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "out.jsonl.inflight");
    // Cut at token 200 (in the answer), then its continuation at 250 and at 300.
    const s = await thinkingServer([200, 250, 300]);
    const markers = { start: "<think>", end: "</think>" };
    const c = createClient({
      baseUrl: s.url,
      concurrency: 1,
      timeoutSeconds: 60,
      server: ServerSchema.parse({ backoff_ms: 5, max_retries: 1 }),
    });
    open.push(() => c.close());
    // Run 1: the first stream and its continuation are cut; the row fails, its text is saved.
    const first = new PartialAnswers({ log: await InflightLog.open(file), minTokens: 64, markers });
    await expect(first.start(0, request("row0")).chat(c, new AbortController().signal)).rejects.toThrow();
    await first.close();
    const upTo = (n: number) => `<think>${thinking}</think>${answer.slice(0, answer.indexOf(`c${n - NR} `))}`;
    expect(s.continued).toEqual([upTo(200)]);
    // Run 2: continues from the saved text (cut once more at 300, then a retry continues it).
    const second = new PartialAnswers({ log: await InflightLog.open(file), minTokens: 64, markers });
    const r = await second.start(0, request("row0")).chat(c, new AbortController().signal);
    await second.close();
    expect(s.continued).toEqual([upTo(200), upTo(250), upTo(300)]);
    expect(r).toMatchObject({
      reasoning: thinking,
      content: answer,
      finishReason: "stop",
      continuedAt: [200, 250, 300],
    });
  });
});
