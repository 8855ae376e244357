import { ErrorCodes, VlmError } from "../errors.js";
import { bodyError, isErrorBody } from "./http-error.js";
import type { ChatResult, Usage } from "./types.js";

export type Message = { content?: string | null; reasoning?: string | null; reasoning_content?: string | null };
export type Choice = { message?: Message; delta?: Message; finish_reason?: string | null };
export type Completion = { choices?: Choice[]; usage?: Usage | null; error?: unknown };

export function badResponse(what: string): VlmError {
  return new VlmError(ErrorCodes.BAD_RESPONSE, `the server's answer is not a chat completion: ${what}`, {
    retryable: true,
  });
}

/**
 * A `chat.completion` body: a non-streamed answer, or a streamed request's 200 answered with
 * JSON instead of SSE (a server that ignores `stream`). An error JSON in either of vLLM's
 * shapes, answered with status 200, is that error (classified by its `code`, see bodyError).
 */
export function parseCompletion(text: string): Omit<ChatResult, "attempts"> {
  let j: Completion;
  try {
    j = JSON.parse(text) as Completion;
  } catch {
    throw badResponse(`not JSON: ${text.slice(0, 200)}`);
  }
  if (typeof j !== "object" || j === null) throw badResponse(`not an object: ${text.slice(0, 200)}`);
  if (isErrorBody(j as Record<string, unknown>)) throw bodyError(j as Record<string, unknown>);
  const choice = j.choices?.[0];
  if (!choice?.message) throw badResponse("no choices[0].message");
  const m = choice.message;
  const reasoning = m.reasoning ?? m.reasoning_content ?? undefined;
  const content = m.content ?? "";
  const finishReason = choice.finish_reason ?? null;
  const usage = j.usage ?? undefined;
  return reasoning ? { content, reasoning, finishReason, usage } : { content, finishReason, usage };
}

// Streamed answers (SSE chunks) are read by StreamAccumulator, in stream-accumulator.ts.
