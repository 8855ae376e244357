import type { OperatorFunction } from "rxjs";
import type { PartialAnswers } from "../client/partial-answers.js";
import type { ChatClient } from "../client/types.js";
import { ErrorCodes, VlmError } from "../errors.js";
import type { Sample } from "../types.js";
import { buildRequest, type RequestSettings } from "./build-request.js";
import { type ConcurrencyStats, concurrentMap } from "./concurrent-map.js";

export type GenerateOptions = RequestSettings & {
  client: ChatClient;
  /** Requests in flight at most; a function lets an adaptive limiter change it during a run. */
  concurrency: number | (() => number);
  stats?: ConcurrencyStats;
  /** Keep streamed text in flight and continue from it (++resume_partial, docs/resume-partial.md). */
  partial?: PartialAnswers;
  /**
   * The run's graceful stop (Ctrl-C, --max_failures): rows not sent yet when it fires are dropped,
   * not sent (they have no output line; a resumed run sends them); requests in flight finish.
   */
  stop?: AbortSignal;
};

/**
 * Sends each sample's messages to the server (bounded concurrency; the client retries transient
 * faults) and records NeMo-Skills' fields in `out`: generation, reasoning_content (when the
 * server parsed reasoning), num_generated_tokens, finish_reason, generation_start_time,
 * generation_end_time, generation_time (seconds); and, from the server's usage when it gives
 * them, num_input_tokens, num_reasoning_tokens and num_answer_tokens (as NeMo-Skills does).
 * A prompt too long for the model is not an error: finish_reason "model_length", empty generation.
 * Records VLM_E_HTTP / VLM_E_CONNECTION / VLM_E_TIMEOUT / VLM_E_BAD_RESPONSE with attempts.
 * With `partial`, an answer continued from earlier text records `_continued_at_tokens`, and one
 * restarted because the server refused the continuation `_continuation_restarted: true`.
 */
export function generate(opts: GenerateOptions): OperatorFunction<Sample, Sample> {
  return concurrentMap(
    async (s, signal) => {
      if (!s.messages) throw new VlmError(ErrorCodes.INTERNAL, "no messages: put renderPrompt before generate");
      const start = Date.now();
      const body = buildRequest(s.messages, opts);
      try {
        const row = opts.partial?.start(s.index, body);
        const r = row
          ? await row.chat(opts.client, signal, opts.stop)
          : await opts.client.chat(body, { signal, stop: opts.stop });
        const end = Date.now();
        // Assigned one by one (same keys, same order as spreading times()): one object per row.
        const out: Record<string, unknown> = { ...s.out };
        out.generation = r.content;
        if (r.reasoning !== undefined) out.reasoning_content = r.reasoning;
        const usage = r.usage;
        out.num_generated_tokens = usage?.completion_tokens ?? null;
        // NeMo-Skills' token counts from the server's usage; not for an answer continued from
        // saved text, whose last request's prompt held that text and whose details cover only it.
        if (usage && !row?.continuedAt.length) {
          if (typeof usage.prompt_tokens === "number") out.num_input_tokens = usage.prompt_tokens;
          const reasoning = usage.completion_tokens_details?.reasoning_tokens;
          if (typeof reasoning === "number" && typeof usage.completion_tokens === "number") {
            out.num_reasoning_tokens = reasoning;
            out.num_answer_tokens = usage.completion_tokens - reasoning;
          }
        }
        out.finish_reason = r.finishReason;
        out.generation_start_time = start / 1000;
        out.generation_end_time = end / 1000;
        out.generation_time = (end - start) / 1000;
        if (r.attempts > 1) out.attempts = r.attempts;
        if (row?.continuedAt.length) out._continued_at_tokens = [...row.continuedAt];
        if (row?.restarted) out._continuation_restarted = true;
        return { ...s, out };
      } catch (e) {
        if (e instanceof VlmError && e.code === ErrorCodes.CONTEXT_LENGTH) {
          const out = {
            ...s.out,
            generation: "",
            num_generated_tokens: 0,
            finish_reason: "model_length",
            context_length_error: e.message,
          };
          return { ...s, out: { ...out, ...times(start, Date.now()) } };
        }
        throw e;
      }
    },
    { stage: "generate", limit: opts.concurrency, stats: opts.stats, stop: opts.stop },
  );
}

function times(start: number, end: number) {
  return {
    generation_start_time: start / 1000,
    generation_end_time: end / 1000,
    generation_time: (end - start) / 1000,
  };
}
