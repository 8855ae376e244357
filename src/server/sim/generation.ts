/**
 * A composed text as vLLM would emit it: its tokens (a token = a whitespace-separated word
 * with the whitespace before it) placed per the reasoning mode and cut at max_tokens.
 * Keeping the tokens lets the stream, the non-stream body and `usage` agree exactly.
 */
import type { ComposedText } from "./compose-answer.js";

export type ReasoningMode = "none" | "field" | "think";

export type Generation = {
  /** Reasoning tokens (mode "field" only: what a reasoning parser moves out of content). */
  reasoning: readonly string[];
  content: readonly string[];
  finishReason: "stop" | "length";
  completionTokens: number;
};

/** The whole text's tokens per the mode, before any cut: what a continuation is matched against. */
export function allTokens(
  text: ComposedText,
  mode: ReasoningMode,
): { reasoning: readonly string[]; content: readonly string[] } {
  if (mode === "field") return { reasoning: text.thinking, content: text.answer };
  if (mode === "think") {
    // No reasoning parser: the raw tags stay in content, and a cut before </think> leaves no answer.
    const [t0, ...tRest] = text.thinking;
    const [a0, ...aRest] = text.answer;
    return { reasoning: [], content: ["<think>", `\n${t0}`, ...tRest, "\n</think>", `\n\n${a0}`, ...aRest] };
  }
  return { reasoning: [], content: text.answer };
}

/** `skip`: tokens already generated (a continuation goes on from there). */
export function buildGeneration(
  text: ComposedText,
  mode: ReasoningMode,
  maxTokens: number | undefined,
  skip = 0,
): Generation {
  const budget = maxTokens ?? Number.POSITIVE_INFINITY;
  let { reasoning, content } = allTokens(text, mode);
  if (skip > 0) {
    const r = Math.min(skip, reasoning.length);
    reasoning = reasoning.slice(r);
    content = content.slice(skip - r);
  }
  const total = reasoning.length + content.length;
  if (total > budget) {
    reasoning = reasoning.slice(0, budget);
    content = content.slice(0, Math.max(0, budget - reasoning.length));
  }
  const completionTokens = reasoning.length + content.length;
  return {
    reasoning,
    content,
    finishReason: completionTokens < total ? "length" : "stop",
    completionTokens,
  };
}
