import type { ChatMessage } from "../types.js";

/** The body of POST /v1/chat/completions, as far as we set it; extra_body keys are merged in. */
export type ChatRequest = {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  [key: string]: unknown;
};

export type Usage = { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };

export type ChatResult = {
  content: string;
  /** The server's reasoning text (vLLM's `reasoning`, older `reasoning_content`), if any. */
  reasoning?: string;
  finishReason: string | null;
  usage?: Usage;
  /** Attempts made, 1 when the first one succeeded. */
  attempts: number;
};

export type ChatOptions = { signal?: AbortSignal };

export interface ChatClient {
  chat(request: ChatRequest, opts?: ChatOptions): Promise<ChatResult>;
  close(): Promise<void>;
}
