/**
 * The simulator's options: one zod schema, the only place defaults live.
 * Fault options are declared once without defaults so `setFaults(partial)` can validate a
 * patch without zod filling in (and so resetting) the faults the caller did not mention.
 */
import { z } from "zod";
import { UsageError } from "../../errors.js";
import { MAX_TIMER_SECONDS } from "../../util/timer-seconds.js";

/** Delays become Node timers: past the longest one (24.8 days) a timer fires after 1 ms. */
const MAX_TIMER_MS = MAX_TIMER_SECONDS * 1000;
const TIMER_LIMIT = { message: `at most ${MAX_TIMER_MS} ms (24.8 days, the longest wait a Node timer takes)` };

const rate = z.number().min(0).max(1);

/** One answer-book row: the benchmark row's fields we use; other fields are ignored. */
export const AnswerRowSchema = z
  .looseObject({
    problem: z.string().optional(),
    id: z.union([z.string(), z.number()]).optional(),
    // null: a withheld answer (DocVQA's test split); such rows are not in the book.
    expected_answer: z.union([z.string(), z.number(), z.null()]),
    // Open questions (MMMU's "open", short-answer benchmarks) are answered with text.
    question_type: z.string().optional(),
    answers: z.array(z.unknown()).optional(),
    // MMMU-Pro stores options as the text of a Python list; JSONL rows may hold a real list.
    options: z.union([z.array(z.unknown()), z.string()]).optional(),
  })
  .refine((r) => (r.problem !== undefined && r.problem.trim() !== "") || r.id !== undefined, {
    message: "a row needs `problem` or `id`",
  });
export type AnswerRow = z.infer<typeof AnswerRowSchema>;

const faultValidators = {
  fail_rate: rate,
  fail_status: z.number().int().min(400).max(599),
  retry_after: z.number().min(0),
  fail_first: z.number().int().min(0),
  drop_rate: rate,
  drop_mid_stream_rate: rate,
  stall_ms: z.number().int().min(0).max(MAX_TIMER_MS, TIMER_LIMIT),
  stall_rate: rate,
  malformed_rate: rate,
  stream_error_rate: rate,
  drop_at_token: z.number().int().min(0),
};

/** A patch of fault options for `setFaults`: no defaults, unknown keys rejected. */
export const FaultPatchSchema = z.strictObject({
  fail_rate: faultValidators.fail_rate.optional(),
  fail_status: faultValidators.fail_status.optional(),
  retry_after: faultValidators.retry_after.optional(),
  fail_first: faultValidators.fail_first.optional(),
  drop_rate: faultValidators.drop_rate.optional(),
  drop_mid_stream_rate: faultValidators.drop_mid_stream_rate.optional(),
  stall_ms: faultValidators.stall_ms.optional(),
  stall_rate: faultValidators.stall_rate.optional(),
  malformed_rate: faultValidators.malformed_rate.optional(),
  stream_error_rate: faultValidators.stream_error_rate.optional(),
  drop_at_token: faultValidators.drop_at_token.optional(),
});
export type FaultPatch = z.input<typeof FaultPatchSchema>;

export const SimServerOptionsSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  /** 0 = a free port chosen by the OS. */
  port: z.number().int().min(0).max(65535).default(0),
  /** The served model name, as `--served-model-name`. */
  model: z.string().min(1).default("sim"),
  max_model_len: z.number().int().positive().default(32768),
  /** Images per prompt, as `--limit-mm-per-prompt '{"image": N}'`. */
  limit_mm_per_prompt: z.number().int().min(0).default(8),
  /** A JSONL answer book: rows with `problem` and/or `id`, `expected_answer`, `options`. */
  answers: z.string().min(1).optional(),
  /** The same rows, in process. */
  answer_rows: z.array(AnswerRowSchema).optional(),
  /** Probability that a recognised question gets its expected answer. */
  accuracy: rate.default(1),
  /**
   * Judge mode (judge.ts): probability that a judge request's verdict is the comparison's
   * (Yes when the candidate's final answer matches the reference); otherwise it is flipped.
   */
  judge_accuracy: rate.default(1),
  /** Seeds every deterministic draw: answers and faults. */
  seed: z.number().int().default(0),
  /** Delay before answering; for streams, spread over the chunks. */
  latency_ms: z.number().min(0).max(MAX_TIMER_MS, TIMER_LIMIT).default(0),
  /** none: plain content; field: message.reasoning (a reasoning parser); think: <think> in content. */
  reasoning: z.enum(["none", "field", "think"]).default("none"),
  /** Field name(s) for reasoning: new vLLM says `reasoning`, older `reasoning_content`. */
  reasoning_field: z.enum(["reasoning", "reasoning_content", "both"]).default("reasoning"),
  /** nested: {"error": {...}} (new vLLM); flat: {"object": "error", ...} (older vLLM). */
  error_format: z.enum(["nested", "flat"]).default("nested"),
  /** Keep parsed chat request bodies in `server.requests` (the last 10,000). */
  record_requests: z.boolean().default(false),
  /**
   * Requests accepted at once, like vLLM's --max-num-queued-reqs: past it the answer is 503
   * (with Retry-After when retry_after is set). 0 = no limit.
   */
  max_in_flight: z.number().int().min(0).default(0),
  fail_rate: faultValidators.fail_rate.default(0),
  fail_status: faultValidators.fail_status.default(503),
  retry_after: faultValidators.retry_after.optional(),
  fail_first: faultValidators.fail_first.default(0),
  drop_rate: faultValidators.drop_rate.default(0),
  drop_mid_stream_rate: faultValidators.drop_mid_stream_rate.default(0),
  stall_ms: faultValidators.stall_ms.default(0),
  stall_rate: faultValidators.stall_rate.default(0),
  malformed_rate: faultValidators.malformed_rate.default(0),
  stream_error_rate: faultValidators.stream_error_rate.default(0),
  /** Streams hit by drop_mid_stream_rate are cut after this many tokens (0: after the first chunks). */
  drop_at_token: faultValidators.drop_at_token.default(0),
  /**
   * Long answers: this many tokens of text (and of thinking, in the reasoning modes), one token
   * per stream chunk as vLLM sends them. 0: the short answers (20..120 words, 4 tokens a chunk).
   */
  answer_tokens: z.number().int().min(0).default(0),
  /** Delay before each chunk of a stream, on top of latency_ms: a model decoding at 1000/ms tokens a second. */
  token_delay_ms: z.number().min(0).max(MAX_TIMER_MS, TIMER_LIMIT).default(0),
  /** Answer every continue_final_message request with 400, as a server whose chat template cannot continue. */
  reject_continuation: z.boolean().default(false),
});

export type SimServerOptionsInput = z.input<typeof SimServerOptionsSchema>;
export type SimServerOptions = z.infer<typeof SimServerOptionsSchema>;
export type FaultOptions = Pick<SimServerOptions, keyof FaultPatch>;

export const FAULT_KEYS = Object.keys(FaultPatchSchema.shape) as (keyof FaultPatch)[];

/** How an option is named in messages: `accuracy` in-process, `--accuracy` on the CLI. */
export type OptionNamer = (key: string) => string;

/** zod issues -> one message naming each bad option, for people. */
export function formatOptionIssues(error: z.ZodError, nameOf: OptionNamer, known: string[]): string {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return `unknown option ${issue.keys.map(nameOf).join(", ")} (known: ${known.map(nameOf).join(", ")})`;
      }
      const key = issue.path.length > 0 ? issue.path.map(String).join(".") : "options";
      return `${nameOf(key)}: ${issue.message}`;
    })
    .join("; ");
}

export function parseSimServerOptions(raw: unknown, nameOf: OptionNamer = (k) => k): SimServerOptions {
  const r = SimServerOptionsSchema.safeParse(raw);
  if (!r.success) {
    throw new UsageError(
      `sim-server: ${formatOptionIssues(r.error, nameOf, Object.keys(SimServerOptionsSchema.shape))}`,
    );
  }
  return r.data;
}

export function parseFaultPatch(raw: unknown): FaultPatch {
  const r = FaultPatchSchema.safeParse(raw);
  if (!r.success) {
    throw new UsageError(`sim-server faults: ${formatOptionIssues(r.error, (k) => k, FAULT_KEYS)}`);
  }
  return r.data;
}
