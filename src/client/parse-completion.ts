import { createParser } from "eventsource-parser";
import { ErrorCodes, VlmError } from "../errors.js";
import { streamError } from "./http-error.js";
import type { ChatResult, Usage } from "./types.js";

type Message = { content?: string | null; reasoning?: string | null; reasoning_content?: string | null };
type Choice = { message?: Message; delta?: Message; finish_reason?: string | null };
type Completion = { choices?: Choice[]; usage?: Usage | null; error?: unknown };

function badResponse(what: string): VlmError {
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
  return {
    content: m.content ?? "",
    ...(reasoning ? { reasoning } : {}),
    finishReason: choice.finish_reason ?? null,
    usage: j.usage ?? undefined,
  };
}

/**
 * Accumulates an SSE stream of `chat.completion.chunk`s (eventsource-parser does the framing).
 * An error event inside the stream throws; a stream that ends before its finish chunk is
 * incomplete and throws a retryable error.
 */
export class StreamAccumulator {
  private content = "";
  private reasoning = "";
  private finishReason: string | null = null;
  private usage: Usage | undefined;
  private done = false;
  private failure: VlmError | undefined;
  private readonly parser = createParser({
    onEvent: (ev) => this.onData(ev.data),
  });
  private readonly decoder = new TextDecoder();

  feed(chunk: Uint8Array): void {
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    if (this.failure) throw this.failure;
  }

  private onData(data: string): void {
    if (this.failure) return;
    if (data === "[DONE]") {
      this.done = true;
      return;
    }
    let j: Completion;
    try {
      j = JSON.parse(data) as Completion;
    } catch {
      this.failure = badResponse(`stream event is not JSON: ${data.slice(0, 200)}`);
      return;
    }
    if (j.error) {
      this.failure = streamError(j as Record<string, unknown>);
      return;
    }
    if (j.usage) this.usage = j.usage;
    const c = j.choices?.[0];
    if (!c) return;
    const d = c.delta ?? c.message;
    if (d?.content) this.content += d.content;
    const r = d?.reasoning ?? d?.reasoning_content;
    if (r) this.reasoning += r;
    if (c.finish_reason) this.finishReason = c.finish_reason;
  }

  result(): Omit<ChatResult, "attempts"> {
    this.parser.feed(this.decoder.decode());
    if (this.failure) throw this.failure;
    if (!this.done && this.finishReason === null) {
      throw new VlmError(ErrorCodes.CONNECTION, "the stream ended before the generation finished", { retryable: true });
    }
    return {
      content: this.content,
      ...(this.reasoning ? { reasoning: this.reasoning } : {}),
      finishReason: this.finishReason,
      usage: this.usage,
    };
  }
}
