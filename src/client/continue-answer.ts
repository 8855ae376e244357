import type { ChatRequest, ChatResult } from "./types.js";

/** What a row has produced before the attempt in flight (saved, or from failed attempts). */
export type AnswerSoFar = { content: string; reasoning: string; tokens: number };

export type ReasoningMarkers = { start: string; end: string };

/**
 * The text the model produced, as the final assistant message of a continuation. Without a
 * server-side reasoning parser that is the content as it came (raw `<think>...` included);
 * with one, the thinking came apart and is put back between its markers, the end marker only
 * once the answer had begun (a parser sends content only after it).
 */
export function rawText(a: AnswerSoFar, m: ReasoningMarkers): string {
  if (a.reasoning === "") return a.content;
  return a.content === "" ? `${m.start}${a.reasoning}` : `${m.start}${a.reasoning}${m.end}${a.content}`;
}

/**
 * The request that continues `a`: the original messages plus a final assistant message with
 * its text, `continue_final_message: true`, `add_generation_prompt: false` (vLLM, SGLang), and
 * `max_tokens` reduced by the tokens already generated. Seed and sampling are the original's.
 * Undefined when no token would be left to generate.
 */
export function continuationRequest(
  original: ChatRequest,
  a: AnswerSoFar,
  m: ReasoningMarkers,
): ChatRequest | undefined {
  const body: ChatRequest = {
    ...original,
    messages: [...original.messages, { role: "assistant", content: rawText(a, m) }],
    continue_final_message: true,
    add_generation_prompt: false,
  };
  if (typeof original.max_tokens === "number") {
    const left = original.max_tokens - a.tokens;
    if (left < 1) return undefined;
    body.max_tokens = left;
  }
  return body;
}

/** Whether the thinking had ended in `a` (with a reasoning parser: the answer had begun). */
export function thinkingEnded(a: AnswerSoFar): boolean {
  return a.content !== "";
}

/**
 * The whole answer from the text before a continuation and the continuation's result. With a
 * reasoning parser, a continuation that starts inside the thinking sends the rest of it as
 * reasoning, then the answer as content; one that starts after the thinking ended has no
 * end marker in its own output, and parsers then send some or all of it as reasoning: all of
 * it is content. Tokens: the saved count plus the continuation's usage (or its chunks).
 */
export function joinAnswer(
  before: AnswerSoFar,
  r: Omit<ChatResult, "attempts">,
  attemptTokens: number,
): Omit<ChatResult, "attempts"> {
  const ended = thinkingEnded(before);
  const reasoning = ended ? before.reasoning : before.reasoning + (r.reasoning ?? "");
  const content = ended ? before.content + (r.reasoning ?? "") + r.content : r.content;
  const tokens = before.tokens + (r.usage?.completion_tokens ?? attemptTokens);
  const usage = { ...r.usage, completion_tokens: tokens };
  return reasoning
    ? { content, reasoning, finishReason: r.finishReason, usage }
    : { content, finishReason: r.finishReason, usage };
}
