import { ErrorCodes, VlmError } from "../errors.js";
import { streamError } from "./http-error.js";
import type { ChatResult, Usage } from "./types.js";

export type Message = { content?: string | null; reasoning?: string | null; reasoning_content?: string | null };
export type Choice = { message?: Message; delta?: Message; finish_reason?: string | null };
export type Completion = { choices?: Choice[]; usage?: Usage | null; error?: unknown };

export function badResponse(what: string): VlmError {
  return new VlmError(ErrorCodes.BAD_RESPONSE, `the server's answer is not a chat completion: ${what}`, {
    retryable: true,
  });
}

/** A non-streaming `chat.completion` body. */
export function parseCompletion(text: string): Omit<ChatResult, "attempts"> {
  let j: Completion;
  try {
    j = JSON.parse(text) as Completion;
  } catch {
    throw badResponse(`not JSON: ${text.slice(0, 200)}`);
  }
  if (j.error) throw streamError(j as Record<string, unknown>);
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
