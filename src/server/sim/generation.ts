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

export function buildGeneration(
  text: ComposedText,
  mode: ReasoningMode,
  maxTokens: number | undefined,
): Generation {
  const budget = maxTokens ?? Number.POSITIVE_INFINITY;
  let reasoning: readonly string[] = [];
  let content: readonly string[];
  if (mode === "field") {
    reasoning = text.thinking;
    content = text.answer;
  } else if (mode === "think") {
    // No reasoning parser: the raw tags stay in content, and a cut before </think> leaves no answer.
    const [t0, ...tRest] = text.thinking;
    const [a0, ...aRest] = text.answer;
    content = ["<think>", `\n${t0}`, ...tRest, "\n</think>", `\n\n${a0}`, ...aRest];
  } else {
    content = text.answer;
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
