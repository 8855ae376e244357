import { createParser } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { streamError } from "../../src/client/http-error.js";
import { parseCompletion } from "../../src/client/parse-completion.js";
import { StreamAccumulator } from "../../src/client/stream-accumulator.js";
import { ErrorCodes, VlmError } from "../../src/errors.js";

/** A stream event's JSON as the reference reads it: a chunk or an error. */
type StreamEvent = {
  error?: unknown;
  usage?: unknown;
  choices?: { delta?: Delta; message?: Delta; finish_reason?: string | null }[];
};
type Delta = { content?: string; reasoning?: string; reasoning_content?: string };

/**
 * The reference: JSON.parse of every chunk, as the accumulator read streams before its fast
 * paths. Every stream below must give the same result, or the same error, both ways.
 */
class Reference {
  content = "";
  reasoning = "";
  finishReason: string | null = null;
  usage: unknown;
  done = false;
  failure: VlmError | undefined;
  parser = createParser({ onEvent: (ev) => this.onData(ev.data) });
  decoder = new TextDecoder();
  feed(chunk: Uint8Array) {
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    if (this.failure) throw this.failure;
  }
  onData(data: string) {
    if (this.failure) return;
    if (data === "[DONE]") {
      this.done = true;
      return;
    }
    let j: StreamEvent;
    try {
      j = JSON.parse(data);
    } catch {
      this.failure = new VlmError(
        ErrorCodes.BAD_RESPONSE,
        `the server's answer is not a chat completion: stream event is not JSON: ${data.slice(0, 200)}`,
      );
      return;
    }
    if (typeof j !== "object" || j === null) {
      this.failure = new VlmError(
        ErrorCodes.BAD_RESPONSE,
        `the server's answer is not a chat completion: stream event is not a JSON object: ${data.slice(0, 200)}`,
      );
      return;
    }
    if (j.error || (j as { object?: unknown }).object === "error") {
      this.failure = streamError(j);
      return;
    }
    if (j.usage) this.usage = j.usage;
    const c = j.choices?.[0];
    if (!c) return;
    const d = c.delta ?? c.message;
    if (d?.content) this.content += d.content;
    const r = d?.reasoning ?? d?.reasoning_content;
    if (r) this.reasoning += r;
    if (c.finish_reason) this.finishReason = c.finish_reason;
  }
  result() {
    this.parser.feed(this.decoder.decode());
    if (this.failure) throw this.failure;
    if (!this.done && this.finishReason === null)
      throw new VlmError(ErrorCodes.CONNECTION, "the stream ended before the generation finished");
    return {
      content: this.content,
      ...(this.reasoning ? { reasoning: this.reasoning } : {}),
      finishReason: this.finishReason,
      usage: this.usage,
    };
  }
}

type Outcome = { ok: unknown } | { error: { name: string; code?: string; message: string } };

function run(acc: { feed(c: Uint8Array): void; result(): unknown }, chunks: Uint8Array[]): Outcome {
  try {
    for (const c of chunks) acc.feed(c);
    return { ok: acc.result() };
  } catch (e) {
    const err = e as VlmError;
    return { error: { name: err.name, code: err.code, message: err.message } };
  }
}

/** The stream's bytes cut at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const a of [...at, bytes.length]) {
    out.push(bytes.subarray(from, a));
    from = a;
  }
  return out;
}

function expectSame(text: string | Buffer, cuts: number[][] = []) {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const want = run(new Reference(), [bytes]);
  expect(run(new StreamAccumulator(), [bytes])).toEqual(want);
  for (const at of cuts) expect(run(new StreamAccumulator(), cut(bytes, at))).toEqual(want);
  return want;
}

const HEAD = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[`;
const ev = (json: string) => `data: ${json}\n\n`;
const role = ev(`${HEAD}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`);
const token = (text: string, key = "content", head = HEAD) =>
  ev(`${head}{"index":0,"delta":{"${key}":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}`);
const finish = (text: string, reason = "stop") =>
  ev(
    `${HEAD}{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":"${reason}","stop_reason":null}]}`,
  );
const usage = ev(`${HEAD}],"usage":{"prompt_tokens":5,"total_tokens":9,"completion_tokens":4}}`);
const DONE = "data: [DONE]\n\n";

describe("StreamAccumulator reads what JSON.parse of every chunk reads", () => {
  it("a vLLM stream: role, tokens, the finish chunk, usage", () => {
    const text = role + token("The answer") + token(" is") + finish(" B") + usage + DONE;
    const r = expectSame(text, [[1], [7, 100, 101], [text.length - 3]]);
    expect(r).toEqual({
      ok: {
        content: "The answer is B",
        finishReason: "stop",
        usage: { prompt_tokens: 5, total_tokens: 9, completion_tokens: 4 },
      },
    });
  });

  it("cut at every byte, with escapes and characters beyond ASCII", () => {
    const text =
      role +
      token('a "quoted" \\ back\nslash') +
      token("é 日本 🙂") +
      token("\u2028") +
      finish("", "length") +
      usage +
      DONE;
    const bytes = Buffer.from(text);
    const want = run(new Reference(), [bytes]);
    expect(want).toMatchObject({ ok: { content: 'a "quoted" \\ back\nslashé 日本 🙂\u2028', finishReason: "length" } });
    for (let i = 1; i < bytes.length; i++) expect(run(new StreamAccumulator(), cut(bytes, [i]))).toEqual(want);
  });

  it("reasoning in reasoning, reasoning_content or both, then content", () => {
    for (const keys of [["reasoning"], ["reasoning_content"], ["reasoning", "reasoning_content"]]) {
      const both = (t: string) =>
        ev(
          `${HEAD}{"index":0,"delta":{${keys.map((k) => `"${k}":${JSON.stringify(t)}`).join(",")}},"logprobs":null,"finish_reason":null}]}`,
        );
      const r = expectSame(role + both("think ") + both("hard") + token("B") + finish("") + usage + DONE);
      expect(r).toMatchObject({ ok: { reasoning: "think hard", content: "B" } });
    }
    expectSame(role + token("r1", "reasoning") + token("c1") + token("r2", "reasoning") + finish("") + DONE);
  });

  it("other finish reasons and chunks off the templates", () => {
    expectSame(role + token("x") + finish("y", "content_filter") + DONE);
    expectSame(
      role +
        token("x") +
        ev(`${HEAD}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}`) +
        DONE,
    );
    expectSame(
      role +
        ev(`${HEAD}{"index":0,"delta":{"tool_calls":[{"id":"t"}]},"logprobs":null,"finish_reason":null}]}`) +
        finish("") +
        DONE,
    );
    // Two choices: only the first counts.
    expectSame(
      role +
        ev(
          `${HEAD}{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null},{"index":1,"delta":{"content":"b"},"logprobs":null,"finish_reason":null}]}`,
        ) +
        finish("") +
        DONE,
    );
    // A value that only looks like the end of the template.
    expectSame(
      role +
        ev(`${HEAD}{"index":0,"delta":{"content":"a","x":"b"},"logprobs":null,"finish_reason":null}]}`) +
        finish("") +
        DONE,
    );
    expectSame(
      role +
        ev(
          `${HEAD}{"index":0,"delta":{"content":"a\\"},\\"logprobs\\":null,\\"finish_reason\\":\\"stop"},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}`,
        ) +
        DONE,
    );
    // Usage on every chunk (continuous_usage_stats), and in the head.
    expectSame(
      ev(
        `${HEAD}{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":1}}`,
      ) +
        finish("") +
        DONE,
    );
    expectSame(
      ev(
        `{"id":"x","usage":null,"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}`,
      ) +
        token("b", "content", `{"id":"x","usage":null,"choices":[`) +
        DONE,
    );
    // A head that changes, chunks without an id, an event split over two data lines.
    expectSame(
      role +
        token("a", "content", HEAD.replace("chatcmpl-1", "chatcmpl-2")) +
        token("b", "content", `{"choices":[`) +
        finish("") +
        DONE,
    );
    expectSame(
      role +
        `data: ${HEAD}{"index":0,"delta":{"content":"a"},\ndata: "logprobs":null,"finish_reason":"stop"}]}\n\n` +
        DONE,
    );
    // The streams of older servers and the tests' own servers.
    expectSame(
      'data: {"choices":[{"index":0,"delta":{"content":"w1 "}}]}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    );
  });

  it("a head with an escaped key that ends in choices", () => {
    const odd = `{"id":"x","a\\"choices":[1],"choices":[`;
    expectSame(token("a", "content", odd) + token("b", "content", odd) + finish("") + DONE);
  });

  it("the same errors: broken chunks, a raw control character, error events, a stream cut short", () => {
    const bad = [
      role + ev(`${HEAD}{"index":0,"delta":{"content":"Lo`) + token("x") + DONE, // cut mid-JSON
      role + token("x").replace(`"created":1`, `"created":1,`) + DONE, // a broken head, a valid rest
      role + token("x").replace(`"model":"m",`, `"model":"m ,`) + DONE, // the same, as long as the head
      role + token("a") + token("x").replace(`"model":"m",`, `"model":"m ,`) + DONE,
      token("x").replace(`"model":"m",`, `"model":"m ,`) + finish("") + DONE, // in the first chunk
      role.replace(`"model":"m",`, `"model":"m ,`) + finish("") + DONE,
      role + ev(`${HEAD}{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}}`) + DONE,
      role + ev(`${HEAD}{"index":0,"delta":{"content":"a\tb"},"logprobs":null,"finish_reason":null}]}`) + DONE,
      role + token("x") + ev(`{"error":{"message":"Simulated engine error","type":"x","code":500}}`) + DONE,
      role + ev(`${HEAD}],"usage":{"prompt_tokens":1},"error":{"message":"late","code":503}}`) + DONE,
      role + "data: null\n\n" + DONE,
      // The flat error shape (`"object": "error"`, no "error" key), as the first event too.
      role + token("x") + ev(`{"object":"error","message":"boom","type":"InternalServerError","code":500}`) + DONE,
      ev(`{"object":"error","message":"This model's maximum context length is 50 tokens","code":400}`) + DONE,
      role + token("x"),
      "",
    ];
    for (const text of bad) {
      const r = expectSame(text, [[3], [text.length >> 1]]);
      expect(r).toHaveProperty("error");
    }
  });

  it("a BOM at the start of the stream, and one later on", () => {
    expectSame(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(role + token("é") + finish("") + DONE)]), [
      [1],
      [2],
      [3],
      [4],
    ]);
    expectSame(role + token("\uFEFFa") + finish("") + DONE, [[role.length]]);
  });

  it("invalid UTF-8 reads as replacement characters either way", () => {
    const text = Buffer.concat([
      Buffer.from(role + token("a").slice(0, -10)),
      Buffer.from([0xff, 0xc3]),
      Buffer.from(token("a").slice(-10) + finish("") + DONE),
    ]);
    expectSame(text, [[role.length + 5], [text.length - 30]]);
  });
});

describe("StreamAccumulator's own framing reads what eventsource-parser frames", () => {
  // Whole `data:` events are framed in place, runs of token chunks read value to value; any
  // other text goes to eventsource-parser. The reference frames everything with the parser.
  const tokens = (texts: string[], key = "content") => texts.map((t) => token(t, key)).join("");

  it("runs of token chunks in one read, cut at every byte", () => {
    const text =
      role +
      tokens(["a", "", "b c", "d"]) +
      tokens(["r1", "r2"], "reasoning") +
      tokens(["e", 'q"uote', "f", "back\\slash", "g", "é", "h", "\u0001"]) +
      finish("end") +
      usage +
      DONE;
    const bytes = Buffer.from(text);
    const want = run(new Reference(), [bytes]);
    expect(want).toMatchObject({
      ok: { content: 'ab cdeq"uotefback\\slashgéh\u0001end', reasoning: "r1r2", finishReason: "stop" },
    });
    for (let i = 1; i < bytes.length; i++) expect(run(new StreamAccumulator(), cut(bytes, [i]))).toEqual(want);
  });

  it("CR line ends, comments, other fields, data: without its space, data over two lines", () => {
    const body = role + tokens(["a", "b", "c"]) + finish("") + usage + DONE;
    expectSame(body.replaceAll("\n", "\r\n"), [[40], [body.length >> 1]]);
    expectSame(body.replaceAll("\n\n", "\r\r"), [[40]]);
    expectSame(role + ": ping\n\n" + tokens(["a", "b"]) + "event: x\nid: 7\n" + tokens(["c", "d"]) + finish("") + DONE);
    expectSame(role + tokens(["a"]) + token("b").replace("data: ", "data:") + tokens(["c", "d"]) + finish("") + DONE);
    const twoLines =
      role +
      tokens(["a", "b"]) +
      token("c").replace(`{"index":0,`, `{"index":0,\ndata: `) +
      tokens(["d", "e"]) +
      finish("") +
      DONE;
    expectSame(
      twoLines,
      [...Array(twoLines.length - 1).keys()].map((i) => [i + 1]),
    );
    // Two data lines apart by a lone carriage return.
    expectSame(
      role +
        tokens(["a"]) +
        token("b").replace(`{"index":0,`, `{"index":0,\rdata: `) +
        tokens(["c"]) +
        finish("") +
        DONE,
    );
    // A line that is not a field of its event ends neither the event nor the run's checks.
    expectSame(
      role + tokens(["a", "b"]).replace("\n\ndata: ", "\nretry: 5\n\ndata: ") + tokens(["c"]) + finish("") + DONE,
    );
  });

  it("a head read from two data lines is never taken for a line of its own", () => {
    const split = HEAD.replace(`"model":"m",`, `"model":"m",\ndata: `);
    const first = ev(
      `${split}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
    );
    const tok = (t: string) =>
      ev(`${split}{"index":0,"delta":{"content":"${t}"},"logprobs":null,"finish_reason":null}]}`);
    expectSame(first + tok("a") + tok("b") + tok("c") + finish("") + DONE, [[first.length + 3]]);
    // The same text with that line not marked as data: the parser skips the unknown field.
    const bare = (t: string) => tok(t).replace("\ndata: ", "\n");
    const text = first + tok("a") + bare("b") + bare("c") + tok("d") + finish("") + DONE;
    expectSame(text, [[(first + tok("a")).length]]);
  });

  it("what reads as a BOM in latin1 is dropped from the stream's first text only", () => {
    const bomLike = "\u00ef\u00bb\u00bf";
    expectSame(bomLike + role + token("a") + finish("") + DONE, [[2]]);
    const later = role + bomLike + token("a") + finish("") + DONE;
    expectSame(later, [[Buffer.byteLength(role)], [Buffer.byteLength(role) + 2]]);
  });

  it("random streams, cut at random places (a seeded property test)", () => {
    let seed = 20261127;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
    const words = ["a", " b", "", "é", '"', "\\", "\n", "日本", "🙂", "x y z", "\u2028", "\ufeff"];
    const parts = [
      () => token(pick(words) + pick(words)),
      () => token(pick(words), "reasoning"),
      () => token(pick(words), "reasoning_content"),
      () => ": keep-alive\n\n",
      () => token(pick(words)).replace("data: ", "data:"),
      () => token(pick(words), "content", HEAD.replace("chatcmpl-1", "chatcmpl-9")),
      () => ev(`${HEAD}{"index":0,"delta":{"content":"a\tb"},"logprobs":null,"finish_reason":null}]}`),
      () => "data: [DONE]\n\n",
      () => usage,
    ];
    for (let k = 0; k < 300; k++) {
      let text = rand() < 0.8 ? role : "";
      for (let n = Math.floor(rand() * 12); n > 0; n--) text += rand() < 0.6 ? parts[0]!() : pick(parts)();
      if (rand() < 0.7) text += finish(pick(words), pick(["stop", "length"]));
      if (rand() < 0.5) text += usage;
      if (rand() < 0.8) text += DONE;
      if (rand() < 0.1) text = text.replaceAll("\n", "\r\n");
      if (rand() < 0.1) text = text.slice(0, Math.floor(rand() * text.length));
      const bytes = Buffer.from(text);
      const cuts = [...Array(Math.floor(rand() * 4))]
        .map(() => Math.floor(rand() * bytes.length))
        .sort((a, b) => a - b);
      expect(run(new StreamAccumulator(), cut(bytes, cuts)), JSON.stringify({ text, cuts })).toEqual(
        run(new Reference(), [bytes]),
      );
    }
  });
});

describe("parseCompletion", () => {
  it("reads content, reasoning, finish_reason and usage", () => {
    const body = (m: string) =>
      `{"choices":[{"index":0,"message":${m},"finish_reason":"stop"}],"usage":{"completion_tokens":3}}`;
    expect(parseCompletion(body(`{"content":"B","reasoning":"hm"}`))).toEqual({
      content: "B",
      reasoning: "hm",
      finishReason: "stop",
      usage: { completion_tokens: 3 },
    });
    expect(parseCompletion(body(`{"content":null,"reasoning_content":"hm"}`))).toEqual({
      content: "",
      reasoning: "hm",
      finishReason: "stop",
      usage: { completion_tokens: 3 },
    });
    expect(parseCompletion(body(`{"content":"B"}`))).toEqual({
      content: "B",
      finishReason: "stop",
      usage: { completion_tokens: 3 },
    });
    expect(Object.keys(parseCompletion(body(`{"content":"B"}`)))).not.toContain("reasoning");
  });
});
