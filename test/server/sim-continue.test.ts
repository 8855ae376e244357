import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { post, QUESTION, sseData, userText } from "./sim-helpers.js";

type Chunk = {
  choices: { delta: { content?: string; reasoning?: string }; finish_reason: string | null }[];
  usage?: { completion_tokens: number };
};

/** A streamed answer read back: its chunks' texts, content and reasoning, and usage. */
async function stream(url: string, body: Record<string, unknown>) {
  const r = await post(url, { temperature: 0, ...body, stream: true, stream_options: { include_usage: true } });
  if (r.status !== 200)
    return { status: r.status, text: r.text, content: "", reasoning: "", pieces: [] as string[], tokens: 0 };
  const chunks = sseData(r.text)
    .filter((d) => d !== "[DONE]")
    .map((d) => JSON.parse(d) as Chunk);
  const pieces: string[] = [];
  let content = "";
  let reasoning = "";
  for (const c of chunks) {
    const d = c.choices[0]?.delta;
    if (d?.content) {
      content += d.content;
      pieces.push(d.content);
    }
    if (d?.reasoning) {
      reasoning += d.reasoning;
      pieces.push(d.reasoning);
    }
  }
  const tokens = chunks.find((c) => c.usage)?.usage?.completion_tokens ?? -1;
  return { status: 200, text: r.text, content, reasoning, pieces, tokens };
}

const continuing = (prefix: string, extra: Record<string, unknown> = {}) => ({
  model: "sim",
  messages: [
    { role: "user", content: QUESTION },
    { role: "assistant", content: prefix },
  ],
  continue_final_message: true,
  add_generation_prompt: false,
  temperature: 0,
  ...extra,
});

describe("sim-server long answers and continuations", () => {
  let sim: SimServer;
  let field: SimServer;
  beforeAll(async () => {
    sim = await startSimServer({ answer_tokens: 300 });
    field = await startSimServer({ answer_tokens: 120, reasoning: "field" });
  });
  afterAll(async () => {
    await sim.close();
    await field.close();
  });

  it("streams long answers of exactly answer_tokens tokens, one token a chunk", async () => {
    const a = await stream(sim.url, userText(QUESTION));
    expect(a.tokens).toBe(300);
    expect(a.pieces).toHaveLength(300);
    expect(a.content).toMatch(/Answer: [A-D]$/);
  });

  it("continues any prefix of its own text at a token boundary with exactly the rest", async () => {
    const whole = await stream(sim.url, userText(QUESTION));
    for (const k of [1, 17, 150, 299]) {
      const prefix = whole.pieces.slice(0, k).join("");
      const rest = await stream(sim.url, continuing(prefix));
      expect(rest.status).toBe(200);
      expect(prefix + rest.content).toBe(whole.content);
      expect(rest.tokens).toBe(300 - k);
    }
    expect(sim.stats.continued).toBeGreaterThanOrEqual(4);
  });

  it("cuts a continuation at its max_tokens and says length", async () => {
    const whole = await stream(sim.url, userText(QUESTION));
    const prefix = whole.pieces.slice(0, 100).join("");
    const r = await post(sim.url, continuing(prefix, { max_tokens: 50 }));
    const j = JSON.parse(r.text) as { choices: { message: { content: string }; finish_reason: string }[] };
    expect(j.choices[0]!.finish_reason).toBe("length");
    expect(prefix + j.choices[0]!.message.content).toBe(whole.pieces.slice(0, 150).join(""));
  });

  it("refuses a prefix it did not produce, and continue_final_message with add_generation_prompt", async () => {
    const whole = await stream(sim.url, userText(QUESTION));
    const bad = await post(sim.url, continuing(`${whole.pieces.slice(0, 20).join("")}x`));
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/not a prefix/);
    const both = await post(sim.url, { ...continuing(whole.pieces[0]!), add_generation_prompt: true });
    expect(both.status).toBe(400);
    expect(both.text).toMatch(/Cannot set both `continue_final_message` and `add_generation_prompt`/);
    const notLast = await post(sim.url, {
      ...userText(QUESTION),
      continue_final_message: true,
      add_generation_prompt: false,
    });
    expect(notLast.status).toBe(400);
  });

  it("continues parsed reasoning put back between <think> markers, inside the thinking and after it", async () => {
    const whole = await stream(field.url, userText(QUESTION));
    expect(whole.reasoning.length).toBeGreaterThan(0);
    // Inside the thinking: the rest of it, then the whole answer.
    const r40 = whole.pieces.slice(0, 40).join("");
    const a = await stream(field.url, continuing(`<think>${r40}`));
    expect(r40 + a.reasoning).toBe(whole.reasoning);
    expect(a.content).toBe(whole.content);
    // After it: the rest of the answer only.
    const c30 = whole.pieces.slice(120, 150).join("");
    const b = await stream(field.url, continuing(`<think>${whole.reasoning}</think>${c30}`));
    expect(b.reasoning).toBe("");
    expect(c30 + b.content).toBe(whole.content);
    expect(b.tokens).toBe(240 - 150);
  });

  it("rejects every continuation with reject_continuation, and cuts dropped streams at drop_at_token", async () => {
    const s = await startSimServer({
      answer_tokens: 200,
      reject_continuation: true,
      drop_mid_stream_rate: 1,
      drop_at_token: 60,
    });
    try {
      const whole = await post(s.url, userText(QUESTION, { stream: true }));
      const texts = sseData(`${whole.text}${whole.text.endsWith("\n\n") ? "" : "\n\n"}`);
      // The role chunk and 60 token chunks, then the socket is cut (no finish, no [DONE]).
      expect(texts).toHaveLength(61);
      expect(s.stats.tokensStreamed).toBe(60);
      const r = await post(s.url, continuing("Looking"));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/reject_continuation/);
    } catch (e) {
      // undici may report the cut socket instead of the partial body: that is the point of the fault.
      if (!/other side closed|terminated|socket/i.test(String(e))) throw e;
    } finally {
      await s.close();
    }
  });
});
