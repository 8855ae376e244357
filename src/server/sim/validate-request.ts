/**
 * Checks a chat completion request in vLLM's order (body fields, model, messages and their
 * parts, the image limit, image loading, context length) and refuses it with vLLM's status
 * and wording. What passes comes out as the few facts the answer needs.
 */
import { SimRequestError } from "./error-body.js";
import type { ImageChecker } from "./image-check.js";

export type ChatRequest = {
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
  /** vLLM's default when absent is 1.0 (sampling). */
  temperature: number;
  seed?: number;
  /** All text parts, joined by newlines: what the answer book searches. */
  text: string;
  /** The last message's text parts, joined by newlines, when it is the user's: where a judge request is read. */
  lastUserText?: string;
  imageCount: number;
  promptTokens: number;
  /** The final assistant message's text, when the request asks to continue it (continue_final_message). */
  continuation?: string;
};

export type ValidateContext = {
  model: string;
  maxModelLen: number;
  limitImages: number;
  images: ImageChecker;
};

const ROLES = new Set(["system", "user", "assistant", "tool"]);
const PART_TYPES = new Set(["text", "image_url", "input_audio", "video_url"]);
const TOKENS_PER_IMAGE = 256;

const bad = (message: string) => new SimRequestError(400, message);

/** Python's float repr, as in vLLM's messages ("got -1.0"). */
const pyFloat = (x: number) => (Number.isInteger(x) ? x.toFixed(1) : String(x));

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function optionalInt(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw bad(`${key}: Input should be a valid integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export async function validateChatRequest(body: unknown, ctx: ValidateContext): Promise<ChatRequest> {
  if (!isObject(body)) throw bad("The request body must be a JSON object.");

  // Field types first, as pydantic does before any handler code runs.
  const maxTokens = optionalInt(body, "max_completion_tokens") ?? optionalInt(body, "max_tokens");
  if (maxTokens !== undefined && maxTokens < 1) {
    throw bad(`max_tokens must be at least 1, got ${maxTokens}.`);
  }
  let temperature = 1;
  if (body.temperature !== undefined && body.temperature !== null) {
    if (typeof body.temperature !== "number") throw bad("temperature: Input should be a valid number");
    if (body.temperature < 0) throw bad(`temperature must be non-negative, got ${pyFloat(body.temperature)}.`);
    temperature = body.temperature;
  }
  const seed = optionalInt(body, "seed");
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw bad("stream: Input should be a valid boolean");
  }
  const stream = body.stream === true;
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) throw bad("Stream options can only be defined when `stream=True`.");
    if (!isObject(so)) throw bad("stream_options: Input should be a valid dictionary");
  }
  const includeUsage = isObject(so) && so.include_usage === true;
  if (!Array.isArray(body.messages)) throw bad("messages: Input should be a valid list");

  if (body.model !== undefined && body.model !== null && body.model !== ctx.model) {
    throw new SimRequestError(404, `The model \`${String(body.model)}\` does not exist.`);
  }

  if (body.messages.length === 0) throw bad("messages: the list must not be empty");
  // vLLM: add_generation_prompt defaults to true, and both at once is a validation error.
  const continueFinal = body.continue_final_message === true;
  if (continueFinal && body.add_generation_prompt !== false) {
    throw bad("Cannot set both `continue_final_message` and `add_generation_prompt` to True.");
  }
  const last = body.messages[body.messages.length - 1] as Record<string, unknown> | undefined;
  if (continueFinal && last?.role !== "assistant") {
    throw bad("continue_final_message is set but the last message is not the assistant's.");
  }
  const texts: string[] = [];
  let textChars = 0;
  const urls: string[] = [];
  let continuation: string | undefined;
  let lastUserFrom: number | undefined;
  const lastIndex = body.messages.length - 1;
  body.messages.forEach((m: unknown, i: number) => {
    if (!isObject(m)) throw bad(`messages[${i}]: Input should be a valid dictionary`);
    if (i === lastIndex && m.role === "user") lastUserFrom = texts.length;
    if (continueFinal && i === lastIndex) {
      // The text to continue: counted in the prompt, not part of the question.
      const c = m.content;
      const parts = Array.isArray(c) ? c.map((p) => (isObject(p) && typeof p.text === "string" ? p.text : "")) : [c];
      continuation = parts.filter((p): p is string => typeof p === "string").join("");
      textChars += continuation.length;
      return;
    }
    if (typeof m.role !== "string" || !ROLES.has(m.role)) {
      throw bad(`messages[${i}]: unknown role ${JSON.stringify(m.role)} (expected system, user, assistant or tool)`);
    }
    const c = m.content;
    if (typeof c === "string") {
      texts.push(c);
      textChars += c.length;
      return;
    }
    if ((c === null || c === undefined) && m.role !== "user" && m.role !== "system") return;
    if (!Array.isArray(c)) {
      throw bad(`messages[${i}].content: Input should be a valid string or a list of content parts`);
    }
    c.forEach((p: unknown, j: number) => {
      const where = `messages[${i}].content[${j}]`;
      if (!isObject(p) || typeof p.type !== "string") throw bad(`${where}: a content part needs a \`type\``);
      if (!PART_TYPES.has(p.type)) throw bad(`Unknown part type: ${p.type}`);
      if (p.type === "text") {
        if (typeof p.text !== "string") throw bad(`${where}.text: Input should be a valid string`);
        texts.push(p.text);
        textChars += p.text.length;
      } else if (p.type === "image_url") {
        const iu = p.image_url;
        if (!isObject(iu) || typeof iu.url !== "string") throw bad(`${where}.image_url.url: Field required`);
        urls.push(iu.url);
      }
      // input_audio and video_url are accepted and ignored: the simulator models images only.
    });
  });

  // vLLM counts items while parsing, so the limit fails before any image is loaded.
  if (urls.length > ctx.limitImages) {
    throw bad(`At most ${ctx.limitImages} image(s) may be provided in one prompt.`);
  }
  await Promise.all(urls.map((u) => ctx.images.check(u)));

  const promptTokens = Math.ceil(textChars / 4) + TOKENS_PER_IMAGE * urls.length;
  const limit = ctx.maxModelLen;
  if (maxTokens === undefined) {
    // vLLM needs room for at least one generated token, hence >=.
    if (promptTokens >= limit) {
      throw bad(
        `This model's maximum context length is ${limit} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input messages.`,
      );
    }
  } else if (promptTokens + maxTokens > limit) {
    throw bad(
      `This model's maximum context length is ${limit} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
    );
  }

  return {
    stream,
    includeUsage,
    maxTokens,
    temperature,
    seed,
    text: texts.join("\n"),
    ...(lastUserFrom === undefined ? {} : { lastUserText: texts.slice(lastUserFrom).join("\n") }),
    imageCount: urls.length,
    promptTokens,
    continuation,
  };
}
