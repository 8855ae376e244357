import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { answerLetter, get, pngDataUrl, post, QUESTION, sseData, userText, withImages } from "./sim-helpers.js";

const ROWS = [{ id: "q1", problem: QUESTION, expected_answer: "C" }];

describe("sim-server endpoints and formats", () => {
  let sim: SimServer;
  beforeAll(async () => {
    sim = await startSimServer({
      answer_rows: ROWS,
      max_model_len: 4096,
      limit_mm_per_prompt: 2,
      record_requests: true,
    });
  });
  afterAll(() => sim.close());

  it("answers /health with 200 and an empty body", async () => {
    const r = await get(sim.url, "/health");
    expect(r.status).toBe(200);
    expect(r.text).toBe("");
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("lists the served model on /v1/models and a version on /version", async () => {
    const models = JSON.parse((await get(sim.url, "/v1/models")).text);
    expect(models.object).toBe("list");
    expect(models.data).toHaveLength(1);
    expect(models.data[0]).toMatchObject({
      id: "sim",
      object: "model",
      owned_by: "vllm",
      root: "sim",
      parent: null,
      max_model_len: 4096,
    });
    expect(models.data[0].permission[0].object).toBe("model_permission");
    expect(JSON.parse((await get(sim.url, "/version")).text)).toEqual({ version: "0.0.0-sim" });
    expect((await get(sim.url, "/nope")).status).toBe(404);
  });

  it("answers a non-stream request with vLLM's chat.completion object", async () => {
    const r = await post(sim.url, userText(QUESTION, { temperature: 0 }));
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(r.text);
    expect(Object.keys(body)).toEqual(["id", "object", "created", "model", "choices", "usage", "prompt_logprobs"]);
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("sim");
    expect(body.prompt_logprobs).toBeNull();
    const choice = body.choices[0];
    expect(choice).toMatchObject({ index: 0, logprobs: null, finish_reason: "stop", stop_reason: null });
    expect(choice.message).toEqual({
      role: "assistant",
      content: expect.any(String),
      reasoning: null,
      tool_calls: [],
    });
    expect(choice.message.content).toMatch(/^Looking at the image and the options,/);
    expect(answerLetter(choice.message.content)).toBe("C");
    const words = choice.message.content.split(/\s+/).length;
    expect(words).toBeGreaterThanOrEqual(20);
    expect(body.usage).toEqual({
      prompt_tokens: Math.ceil(QUESTION.length / 4),
      total_tokens: Math.ceil(QUESTION.length / 4) + words,
      completion_tokens: words,
      prompt_tokens_details: null,
    });
  });

  it("streams chunks, a finish reason, a usage chunk with choices [] and [DONE]", async () => {
    const plain = JSON.parse((await post(sim.url, userText(QUESTION, { temperature: 0 }))).text);
    const r = await post(
      sim.url,
      userText(QUESTION, { temperature: 0, stream: true, stream_options: { include_usage: true } }),
    );
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/event-stream/);
    const data = sseData(r.text);
    expect(data[data.length - 1]).toBe("[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) {
      expect(c).toMatchObject({ id: chunks[0].id, object: "chat.completion.chunk", model: "sim" });
    }
    expect(chunks[0].choices).toEqual([
      { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
    ]);
    const usageChunk = chunks[chunks.length - 1];
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({
      prompt_tokens: plain.usage.prompt_tokens,
      total_tokens: plain.usage.total_tokens,
      completion_tokens: plain.usage.completion_tokens,
    });
    const deltas = chunks.slice(1, -1);
    expect(deltas.length).toBeGreaterThan(3);
    for (const c of chunks.slice(0, -1)) expect(c).not.toHaveProperty("usage");
    deltas.slice(0, -1).forEach((c) => expect(c.choices[0].finish_reason).toBeNull());
    expect(deltas[deltas.length - 1].choices[0]).toMatchObject({ finish_reason: "stop", stop_reason: null });
    const content = deltas.map((c) => c.choices[0].delta.content).join("");
    expect(content).toBe(plain.choices[0].message.content);
  });

  it("omits the usage chunk without stream_options.include_usage", async () => {
    const data = sseData((await post(sim.url, userText(QUESTION, { stream: true }))).text);
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe("stop");
  });

  it("cuts the answer at max_tokens with finish_reason length and matching usage", async () => {
    const body = JSON.parse((await post(sim.url, userText(QUESTION, { max_tokens: 5, temperature: 0 }))).text);
    expect(body.choices[0].finish_reason).toBe("length");
    expect(body.choices[0].message.content).toBe("Looking at the image and");
    expect(body.usage.completion_tokens).toBe(5);
    const data = sseData(
      (
        await post(
          sim.url,
          userText(QUESTION, { max_tokens: 5, stream: true, stream_options: { include_usage: true } }),
        )
      ).text,
    );
    const chunks = data.slice(1, -2).map((d) => JSON.parse(d));
    expect(chunks.map((c) => c.choices[0].delta.content).join("")).toBe("Looking at the image and");
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe("length");
    expect(JSON.parse(data[data.length - 2]!).usage.completion_tokens).toBe(5);
  });

  it("records parsed request bodies", () => {
    expect(sim.requests.length).toBeGreaterThan(0);
    expect(sim.requests[0]).toMatchObject({ model: "sim", messages: [{ role: "user" }] });
    expect(sim.stats.chat).toBe(sim.requests.length);
    expect(sim.stats.inFlight).toBe(0);
  });

  describe("request checks", () => {
    it("accepts a real PNG data URL", async () => {
      const r = await post(sim.url, withImages([await pngDataUrl()], QUESTION));
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).usage.prompt_tokens).toBe(Math.ceil(QUESTION.length / 4) + 256);
    });

    it("refuses a data URL that is not an image", async () => {
      const garbage = `data:image/png;base64,${Buffer.from("this is not a png at all".repeat(10)).toString("base64")}`;
      const r = await post(sim.url, withImages([garbage]));
      expect(r.status).toBe(400);
      const err = JSON.parse(r.text).error;
      expect(err).toMatchObject({ type: "BadRequestError", param: null, code: 400 });
      expect(err.message).toMatch(/Failed to load image: cannot identify image file/);
    });

    it("refuses more images than limit_mm_per_prompt with vLLM's message", async () => {
      const png = await pngDataUrl();
      const r = await post(sim.url, withImages([png, png, png]));
      expect(r.status).toBe(400);
      expect(JSON.parse(r.text).error.message).toBe("At most 2 image(s) may be provided in one prompt.");
    });

    it("refuses file:// URLs and hosts it cannot reach", async () => {
      const local = await post(sim.url, withImages(["file:///tmp/x.png"]));
      expect(local.status).toBe(400);
      expect(JSON.parse(local.text).error.message).toBe(
        "Cannot load local files without `--allowed-local-media-path`.",
      );
      const remote = await post(sim.url, withImages(["https://example.com/cat.png"]));
      expect(remote.status).toBe(400);
      expect(JSON.parse(remote.text).error.message).toMatch(/cannot fetch example\.com/);
    });

    it("fetches images from a 127.0.0.1 URL", async () => {
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#00f" } })
        .png()
        .toBuffer();
      const images: Server = createServer((req, res) => {
        if (req.url === "/ok.png") res.writeHead(200, { "content-type": "image/png" }).end(png);
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => images.listen(0, "127.0.0.1", resolve));
      const base = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
      try {
        expect((await post(sim.url, withImages([`${base}/ok.png`]))).status).toBe(200);
        const missing = await post(sim.url, withImages([`${base}/missing.png`]));
        expect(missing.status).toBe(400);
        expect(JSON.parse(missing.text).error.message).toMatch(/HTTP 404/);
      } finally {
        images.closeAllConnections();
        await new Promise((resolve) => images.close(resolve));
      }
    });

    it("answers 404 NotFoundError for an unknown model", async () => {
      const r = await post(sim.url, { ...userText("hi"), model: "gpt-9" });
      expect(r.status).toBe(404);
      expect(JSON.parse(r.text)).toEqual({
        error: { message: "The model `gpt-9` does not exist.", type: "NotFoundError", param: null, code: 404 },
      });
    });

    it("refuses a prompt longer than the context with vLLM's messages", async () => {
      const long = "x".repeat(4000 * 4);
      const withMax = await post(sim.url, userText(long, { max_tokens: 200 }));
      expect(withMax.status).toBe(400);
      expect(JSON.parse(withMax.text).error.message).toBe(
        "This model's maximum context length is 4096 tokens. However, you requested 4200 tokens (4000 in the messages, 200 in the completion). Please reduce the length of the messages or completion.",
      );
      const tooLong = await post(sim.url, userText("x".repeat(5000 * 4)));
      expect(JSON.parse(tooLong.text).error.message).toBe(
        "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.",
      );
      expect(JSON.parse(withMax.text).error.message).toContain("maximum context length");
    });

    it.each([
      ["a body that is not JSON", "{not json", /^Invalid JSON/],
      ["an empty messages list", { model: "sim", messages: [] }, /messages/],
      ["an unknown role", { model: "sim", messages: [{ role: "wizard", content: "hi" }] }, /unknown role "wizard"/],
      [
        "an unknown content part type",
        { model: "sim", messages: [{ role: "user", content: [{ type: "hologram", hologram: {} }] }] },
        /^Unknown part type: hologram$/,
      ],
      [
        "an image part without a url",
        { model: "sim", messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] },
        /image_url\.url/,
      ],
      ["max_tokens 0", userText("hi", { max_tokens: 0 }), /^max_tokens must be at least 1, got 0\.$/],
      [
        "a negative temperature",
        userText("hi", { temperature: -1 }),
        /^temperature must be non-negative, got -1\.0\.$/,
      ],
      ["stream_options without stream", userText("hi", { stream_options: { include_usage: true } }), /stream=True/],
    ])("refuses %s with a 400", async (_name, body, message) => {
      const r = await post(sim.url, body);
      expect(r.status).toBe(400);
      const err = JSON.parse(r.text).error;
      expect(err.type).toBe("BadRequestError");
      expect(err.message).toMatch(message);
    });
  });
});

describe("sim-server reasoning and error formats", () => {
  it("puts thinking into message.reasoning and delta.reasoning with reasoning field", async () => {
    const sim = await startSimServer({ answer_rows: ROWS, reasoning: "field" });
    try {
      const msg = JSON.parse((await post(sim.url, userText(QUESTION, { temperature: 0 }))).text).choices[0].message;
      expect(msg.reasoning).toMatch(/^Let me work through this question/);
      expect(msg).not.toHaveProperty("reasoning_content");
      expect(answerLetter(msg.content)).toBe("C");
      const data = sseData((await post(sim.url, userText(QUESTION, { temperature: 0, stream: true }))).text);
      const deltas = data.slice(1, -1).map((d) => JSON.parse(d).choices[0].delta);
      const reasoning = deltas
        .filter((d) => "reasoning" in d)
        .map((d) => d.reasoning)
        .join("");
      const content = deltas
        .filter((d) => "content" in d)
        .map((d) => d.content)
        .join("");
      expect(reasoning).toBe(msg.reasoning);
      expect(content).toBe(msg.content);
      // Cut inside the thinking: no content at all, as a reasoning parser leaves it.
      const cut = JSON.parse((await post(sim.url, userText(QUESTION, { max_tokens: 3 }))).text).choices[0];
      expect(cut).toMatchObject({ finish_reason: "length", message: { content: null, reasoning: "Let me work" } });
    } finally {
      await sim.close();
    }
  });

  it("fills both reasoning and reasoning_content with reasoning_field both", async () => {
    const sim = await startSimServer({ reasoning: "field", reasoning_field: "both" });
    try {
      const msg = JSON.parse((await post(sim.url, userText(QUESTION))).text).choices[0].message;
      expect(typeof msg.reasoning).toBe("string");
      expect(msg.reasoning_content).toBe(msg.reasoning);
      const delta = JSON.parse(sseData((await post(sim.url, userText(QUESTION, { stream: true }))).text)[1]!).choices[0]
        .delta;
      expect(delta.reasoning_content).toBe(delta.reasoning);
    } finally {
      await sim.close();
    }
  });

  it("keeps <think>...</think> in content with reasoning think, and a cut before </think> has no answer", async () => {
    const sim = await startSimServer({ answer_rows: ROWS, reasoning: "think" });
    try {
      const msg = JSON.parse((await post(sim.url, userText(QUESTION, { temperature: 0 }))).text).choices[0].message;
      expect(msg.content).toMatch(/^<think>\nLet me work[\s\S]*\n<\/think>\n\nLooking at/);
      expect(msg.reasoning).toBeNull();
      expect(answerLetter(msg.content)).toBe("C");
      const cut = JSON.parse((await post(sim.url, userText(QUESTION, { max_tokens: 6 }))).text).choices[0];
      expect(cut.finish_reason).toBe("length");
      expect(cut.message.content).toMatch(/^<think>/);
      expect(cut.message.content).not.toContain("</think>");
    } finally {
      await sim.close();
    }
  });

  it("answers errors flat with error_format flat, and refuses unknown options", async () => {
    const sim = await startSimServer({ error_format: "flat", model: "m" });
    try {
      const r = await post(sim.url, { ...userText("hi"), model: "other" });
      expect(JSON.parse(r.text)).toEqual({
        object: "error",
        message: "The model `other` does not exist.",
        type: "NotFoundError",
        param: null,
        code: 404,
      });
    } finally {
      await sim.close();
    }
    await expect(startSimServer({ accurracy: 0.5 } as never)).rejects.toThrow(/unknown option accurracy/);
    await expect(startSimServer({ accuracy: 2 })).rejects.toThrow(/accuracy: Too big/);
  });
});
