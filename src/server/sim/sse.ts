/**
 * The streaming answer as vLLM writes it: `data: {json}\n\n` events. vLLM serialises chunks
 * with exclude_unset, so a chunk carries only the fields it sets: no `usage` on ordinary
 * chunks, `stop_reason` only beside `finish_reason`, and the final usage chunk has
 * `choices: []` (and drops null fields). The last token's delta carries the finish reason.
 */
import type { Generation } from "./generation.js";
import { type AnswerMeta, reasoningKeys } from "./respond.js";

/** Tokens per content chunk: enough chunks for a client's SSE parser to be exercised. */
const TOKENS_PER_CHUNK = 4;

export const DONE_EVENT = "data: [DONE]\n\n";

function groups(pieces: readonly string[], perChunk: number): string[] {
  const out: string[] = [];
  let text = "";
  for (let i = 0; i < pieces.length; i++) {
    text += pieces[i];
    if ((i + 1) % perChunk === 0 || i === pieces.length - 1) {
      out.push(text);
      text = "";
    }
  }
  return out;
}

/**
 * Every event of a successful stream, in order, ending with `data: [DONE]`. `tokensPerChunk`
 * 1 is vLLM's own rhythm (one chunk per decoded token); the default groups four.
 */
export function streamEvents(
  gen: Generation,
  meta: AnswerMeta,
  includeUsage: boolean,
  tokensPerChunk = TOKENS_PER_CHUNK,
): string[] {
  const head = `data: {"id":"${meta.id}","object":"chat.completion.chunk","created":${meta.created},"model":${JSON.stringify(meta.model)},"choices":[`;
  const choice = (delta: string, finish: string | null) =>
    finish === null
      ? `${head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]}\n\n`
      : `${head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":"${finish}","stop_reason":null}]}\n\n`;

  const deltas: string[] = [];
  const rKeys = reasoningKeys(meta.reasoningField);
  for (const text of groups(gen.reasoning, tokensPerChunk)) {
    const t = JSON.stringify(text);
    deltas.push(`{${rKeys.map((k) => `"${k}":${t}`).join(",")}}`);
  }
  for (const text of groups(gen.content, tokensPerChunk)) deltas.push(`{"content":${JSON.stringify(text)}}`);

  const events = [choice(`{"role":"assistant","content":""}`, null)];
  deltas.forEach((d, i) => events.push(choice(d, i === deltas.length - 1 ? gen.finishReason : null)));
  if (deltas.length === 0) events.push(choice("{}", gen.finishReason));
  if (includeUsage) {
    const usage = {
      prompt_tokens: meta.promptTokens,
      total_tokens: meta.promptTokens + gen.completionTokens,
      completion_tokens: gen.completionTokens,
    };
    events.push(`${head}],"usage":${JSON.stringify(usage)}}\n\n`);
  }
  events.push(DONE_EVENT);
  return events;
}

/** A `data:` line whose payload is cut off mid-JSON, for the malformed fault. */
export function malformedEvent(meta: AnswerMeta): string {
  return `data: {"id":"${meta.id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Lo\n\n`;
}
