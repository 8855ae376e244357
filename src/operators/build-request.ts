import type { ChatRequest } from "../client/types.js";
import type { InferenceConfig } from "../config/generation-config.js";
import type { ChatMessage } from "../types.js";

export type RequestSettings = {
  model: string;
  inference: InferenceConfig;
  stream: boolean;
  /** Merged last, after inference.extra_body (prompt config extras first). */
  extraBody?: Record<string, unknown>;
  /**
   * The server's kind (--server_type). For vllm, sglang and the simulator the request carries
   * `spaces_between_special_tokens: false`, as NeMo-Skills' vLLM client always sends (the
   * detokenizer then joins added tokens to their text without a space); an extra body may
   * override it. Not sent otherwise (an OpenAI API refuses unknown keys), nor when unset.
   */
  serverType?: ServerType;
};

export type ServerType = "vllm" | "sglang" | "openai" | "sim";

/**
 * The body vLLM receives, with NeMo-Skills' conventions: top_k only when > 0, min_p when > 0,
 * repetition_penalty when not 1, presence/frequency_penalty when set, `seed` from random_seed,
 * max_tokens from tokens_to_generate, spaces_between_special_tokens false for vLLM-like servers.
 */
export function buildRequest(messages: ChatMessage[], s: RequestSettings): ChatRequest {
  const inf = s.inference;
  const body: ChatRequest = {
    model: s.model,
    messages,
    temperature: inf.temperature,
    top_p: inf.top_p,
    seed: inf.random_seed,
  };
  if (inf.tokens_to_generate !== null) body.max_tokens = inf.tokens_to_generate;
  if (inf.top_k > 0) body.top_k = inf.top_k;
  if (inf.min_p > 0) body.min_p = inf.min_p;
  if (inf.repetition_penalty !== 1) body.repetition_penalty = inf.repetition_penalty;
  if (inf.presence_penalty !== undefined) body.presence_penalty = inf.presence_penalty;
  if (inf.frequency_penalty !== undefined) body.frequency_penalty = inf.frequency_penalty;
  if (inf.stop !== undefined) body.stop = inf.stop;
  if (inf.reasoning_effort !== undefined) body.reasoning_effort = inf.reasoning_effort;
  if (s.serverType === "vllm" || s.serverType === "sglang" || s.serverType === "sim")
    body.spaces_between_special_tokens = false;
  Object.assign(body, s.extraBody ?? {}, inf.extra_body);
  if (s.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}
