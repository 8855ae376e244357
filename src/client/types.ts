import type { ChatMessage } from "../types.js";

/** The body of POST /v1/chat/completions, as far as we set it; extra_body keys are merged in. */
export type ChatRequest = {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  [key: string]: unknown;
};

export type Usage = {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  /** vLLM with a reasoning parser (and OpenAI) count the thinking here. */
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
};

export type ChatResult = {
  content: string;
  /** The server's reasoning text (vLLM's `reasoning`, older `reasoning_content`), if any. */
  reasoning?: string;
  finishReason: string | null;
  usage?: Usage;
  /** Attempts made, 1 when the first one succeeded. */
  attempts: number;
};

/** Text a stream has brought since the last take, and the text chunks (~tokens) it came in. */
export type StreamDelta = { content: string; reasoning: string; tokens: number };

/** A streamed answer in flight, as far as it has arrived (see StreamAccumulator.take). */
export interface StreamProgress {
  take(): StreamDelta;
  /** All the text read so far, taken or not. */
  fullText(): StreamDelta;
  /** Text chunks read so far (taken or not): cheap, for deciding whether to take. */
  tokensSoFar(): number;
}

export type ChatOptions = {
  signal?: AbortSignal;
  /**
   * The run's graceful stop: once it fires no retry starts (a backoff wait ends at once) and the
   * request fails with its last error; a rerun retries the row. The attempt in flight finishes.
   */
  stop?: AbortSignal;
  /** Called when an attempt's stream starts (a 200): its text can then be read as it arrives. */
  onStream?: (stream: StreamProgress) => void;
  /** Before a retry: the request to send instead (e.g. one continuing the failed attempt's text). */
  retryRequest?: (failed: ChatRequest) => ChatRequest;
};

export interface ChatClient {
  /** One answer; a fresh result object per call (the retry layer and in-flight answers complete it in place). */
  chat(request: ChatRequest, opts?: ChatOptions): Promise<ChatResult>;
  /**
   * Several servers (server-pool.ts): takes one out (its base URL as given) for a cooldown
   * before any request, e.g. one that failed the run's start-up check. Absent with one server.
   */
  markDown?(baseUrl: string, error: Error): void;
  close(): Promise<void>;
}
