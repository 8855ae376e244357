import { describe, expect, it } from "vitest";
import { httpError, isContextError, streamError } from "../../src/client/http-error.js";
import { parseCompletion } from "../../src/client/parse-completion.js";
import { ErrorCodes, type VlmError } from "../../src/errors.js";

const flat = (message: string) => JSON.stringify({ object: "error", message, type: "BadRequestError", code: 400 });
const nested = (message: string) =>
  JSON.stringify({ error: { message, type: "BadRequestError", param: null, code: 400 } });

// The wordings servers use when prompt + max_tokens do not fit, the prompt alone fitting.
const MAX_TOKENS_TOO_LARGE = [
  // vLLM (V0, and V1 before 0.10)
  "This model's maximum context length is 4096 tokens. However, you requested 4196 tokens (100 in the messages, 4096 in the completion). Please reduce the length of the messages or completion.",
  // vLLM V1
  "'max_tokens' or 'max_completion_tokens' is too large: 4096. This model's maximum context length is 4096 tokens and your request has 100 input tokens (4096 > 4096 - 100).",
  // SGLang
  "Requested token count exceeds the model's maximum context length of 4096 tokens. You requested a total of 4196 tokens: 100 tokens from the input messages and 4096 tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.",
];

// The wordings for a prompt that does not fit by itself.
const PROMPT_TOO_LONG = [
  "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.",
  "This model's maximum context length is 4096 tokens. However, you requested 9096 tokens (5000 in the messages, 4096 in the completion). Please reduce the length of the messages or completion.",
  // exactly the context: no room for one generated token
  "'max_tokens' or 'max_completion_tokens' is too large: 10. This model's maximum context length is 4096 tokens and your request has 4096 input tokens (10 > 4096 - 4096).",
  "The decoder prompt (length 5000) is longer than the maximum model length of 4096. Make sure that `max_model_len` is no smaller than the number of text tokens plus multimodal tokens.",
  "The input (5000 tokens) is longer than the model's context length (4096 tokens).",
];

describe("vLLM's context-length 400s", () => {
  it.each(MAX_TOKENS_TOO_LARGE)("a prompt that fits with max_tokens that does not fails the request: %s", (m) => {
    for (const body of [flat(m), nested(m)]) {
      const e = httpError(400, body);
      expect(e).toMatchObject({ code: ErrorCodes.HTTP, status: 400, retryable: false });
      expect(e.message).toContain(
        "lower ++inference.tokens_to_generate to at most 3996 for this row (the model's maximum context length is 4096 tokens, its prompt takes 100)",
      );
      expect(e.message).toContain(m);
      expect(isContextError(e)).toBe(true);
    }
    // The same inside a stream.
    expect(streamError({ error: { message: m, code: 400 } })).toMatchObject({
      code: ErrorCodes.HTTP,
      retryable: false,
    });
  });

  it.each(PROMPT_TOO_LONG)("a prompt that does not fit by itself is VLM_E_CONTEXT_LENGTH: %s", (m) => {
    for (const body of [flat(m), nested(m)]) {
      expect(httpError(400, body)).toMatchObject({ code: ErrorCodes.CONTEXT_LENGTH, status: 400, message: m });
    }
    expect(streamError({ error: { message: m, code: 400 } }).code).toBe(ErrorCodes.CONTEXT_LENGTH);
  });

  it("names the model's length when the message gives only that", () => {
    const m =
      "This model's maximum context length is 4096 tokens. Please reduce the length of the completion (max_tokens).";
    expect(httpError(400, flat(m)).code).toBe(ErrorCodes.CONTEXT_LENGTH);
    const e = httpError(
      400,
      flat("'max_tokens' or 'max_completion_tokens' is too large: this model's maximum context length is 4096 tokens"),
    );
    expect(e.code).toBe(ErrorCodes.HTTP);
    expect(e.message).toContain(
      "lower ++inference.tokens_to_generate (the model's maximum context length is 4096 tokens",
    );
  });

  it("leaves other 400s alone", () => {
    const e = httpError(400, flat("'max_tokens' must be at least 1, got 0."));
    expect(e).toMatchObject({ code: ErrorCodes.HTTP, message: "HTTP 400: 'max_tokens' must be at least 1, got 0." });
    expect(isContextError(e)).toBe(false);
  });
});

describe("an error JSON answered with status 200", () => {
  it("is the error its code says, in either of vLLM's shapes", () => {
    const notFound = {
      error: { message: "The model `x` does not exist.", type: "NotFoundError", param: null, code: 404 },
    };
    expect(() => parseCompletion(JSON.stringify(notFound))).toThrow(
      expect.objectContaining({ code: ErrorCodes.HTTP, status: 404, retryable: false }),
    );
    const tooLong = {
      object: "error",
      message: "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens.",
      type: "BadRequestError",
      param: null,
      code: 400,
    };
    expect(() => parseCompletion(JSON.stringify(tooLong))).toThrow(
      expect.objectContaining({ code: ErrorCodes.CONTEXT_LENGTH, status: 400 }),
    );
    const overloaded = { object: "error", message: "busy", type: "ServiceUnavailableError", code: 503 };
    const e = (() => {
      try {
        parseCompletion(JSON.stringify(overloaded));
      } catch (x) {
        return x as VlmError;
      }
    })();
    expect(e).toMatchObject({ code: ErrorCodes.HTTP, status: 503, retryable: true, message: "HTTP 503: busy" });
  });
});
