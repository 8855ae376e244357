/**
 * The non-streaming answer: vLLM's `chat.completion` object, field for field.
 * vLLM dumps every field of its pydantic model, so the reasoning field is present (null)
 * even when there is no reasoning, and `tool_calls` is an empty list.
 */
import type { Generation } from "./generation.js";

export type ReasoningField = "reasoning" | "reasoning_content" | "both";

export type AnswerMeta = {
  id: string;
  created: number;
  model: string;
  promptTokens: number;
  reasoningField: ReasoningField;
};

export function reasoningKeys(field: ReasoningField): string[] {
  return field === "both" ? ["reasoning", "reasoning_content"] : [field];
}

/** Serialised by hand: this runs for every request, and a template is several times faster. */
export function completionBody(gen: Generation, meta: AnswerMeta): string {
  // A reasoning parser leaves content null when the cut came before the answer began.
  const content = gen.content.length > 0 || gen.reasoning.length === 0 ? JSON.stringify(gen.content.join("")) : "null";
  const reasoning = gen.reasoning.length > 0 ? JSON.stringify(gen.reasoning.join("")) : "null";
  const rFields = reasoningKeys(meta.reasoningField)
    .map((k) => `"${k}":${reasoning},`)
    .join("");
  const p = meta.promptTokens;
  const c = gen.completionTokens;
  return (
    `{"id":"${meta.id}","object":"chat.completion","created":${meta.created},"model":${JSON.stringify(meta.model)},` +
    `"choices":[{"index":0,"message":{"role":"assistant","content":${content},${rFields}"tool_calls":[]},` +
    `"logprobs":null,"finish_reason":"${gen.finishReason}","stop_reason":null}],` +
    `"usage":{"prompt_tokens":${p},"total_tokens":${p + c},"completion_tokens":${c},"prompt_tokens_details":null},` +
    `"prompt_logprobs":null}`
  );
}
