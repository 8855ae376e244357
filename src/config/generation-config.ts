import { z } from "zod";
import { UsageError } from "../errors.js";
import { ImageOptionsSchema } from "../images/options.js";
import { MAX_TIMER_SECONDS, timerSeconds } from "../util/timer-seconds.js";

/** The longest delay in ms a Node timer takes (see timerSeconds), for settings given in ms. */
const MAX_TIMER_MS = MAX_TIMER_SECONDS * 1000;

function timerMs() {
  return z
    .number()
    .int()
    .min(0)
    .max(MAX_TIMER_MS, { message: `at most ${MAX_TIMER_MS} ms (24.8 days, the longest wait a Node timer takes)` });
}

/**
 * A key NeMo-Skills declares Optional (`str | None`) whose None means "not set": null is
 * taken and the key is then left out of the parsed config (parseGenerationConfig), as if it
 * had not been given, so a run's spec is the same either way.
 */
function noneIsUnset<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v): z.output<T> | undefined => v ?? undefined);
}

/**
 * Sampling and request settings, NeMo-Skills' `++inference.*` with its defaults.
 * top_k -1 and min_p 0 mean "off" and are then not sent.
 */
export const InferenceSchema = z
  .object({
    temperature: z.number().min(0).default(0),
    top_p: z.number().gt(0).max(1).default(0.95),
    top_k: z.number().int().default(-1),
    min_p: z.number().min(0).max(1).default(0),
    repetition_penalty: z.number().gt(0).default(1),
    /** null: not sent (the server's 0). vLLM's range. */
    presence_penalty: noneIsUnset(z.number().min(-2).max(2)),
    frequency_penalty: noneIsUnset(z.number().min(-2).max(2)),
    random_seed: z.number().int().default(0),
    /** max_tokens; null lets the server use what is left of the context. */
    tokens_to_generate: z.number().int().positive().nullable().default(null),
    /** null: none. */
    stop: noneIsUnset(z.union([z.string(), z.array(z.string())])),
    /**
     * Seconds one request may take in all, retries not counted (NeMo-Skills' default). null
     * (NeMo-Skills' None): no deadline, that is the longest a Node timer waits (24.8 days).
     */
    timeout: timerSeconds()
      .nullable()
      .transform((v) => v ?? MAX_TIMER_SECONDS)
      .default(14400),
    /** null: not sent. */
    reasoning_effort: noneIsUnset(z.string()),
    /** Merged into the request body as is: chat_template_kwargs, mm_processor_kwargs, ... */
    extra_body: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** How we talk to the server (transport, not sampling). */
export const ServerSchema = z
  .object({
    /** Stream with SSE: long generations then never wait for headers (undici's 300 s default). */
    stream: z.boolean().default(true),
    /**
     * Seconds a streamed answer that has begun (its first event came) may go without a byte before
     * it is aborted and retried; before the first event (vLLM's queue) only inference.timeout applies.
     */
    idle_timeout: timerSeconds().default(1800),
    /** Seconds to wait for the answer's headers when not streaming; defaults to inference.timeout. */
    timeout: timerSeconds().optional(),
    max_retries: z.number().int().min(0).default(6),
    /** First backoff delay in ms; doubled per attempt, with full jitter, capped at max_backoff_ms. */
    backoff_ms: timerMs().default(1000),
    max_backoff_ms: timerMs().default(60_000),
    /** Seconds to wait for GET /health (or /v1/models) at start before giving up. */
    wait_timeout: z.number().min(0).default(30),
  })
  .strict();

/**
 * Resume inside a generation (docs/resume-partial.md): a streamed answer's text so far is
 * saved beside the partial output and, on resume or on a retry, continued with vLLM's
 * `continue_final_message` instead of decoded again from its first token.
 */
export const ResumePartialSchema = z
  .object({
    /** Streamed requests only (++server.stream=true, the default). */
    enabled: z.boolean().default(true),
    /** Saved text shorter than this (in streamed tokens) is not worth a continuation: the row restarts. */
    min_tokens: z.number().int().min(1).default(256),
  })
  .strict();

export const EvalConfigSchema = z
  .object({
    /** Seed of the MMMU-Pro official parser's random fallback. */
    seed: z.number().int().default(42),
    // NeMo-Skills' MCQEvaluatorConfig (a row's own keys of the same names win, as upstream):
    /** Strict mode (relaxed false): read only the last \boxed{} (true) or only extract_regex (false). */
    extract_from_boxed: z.boolean().default(true),
    /** Python regex(es) for the answer text, tried in order; the first group is the answer. */
    extract_regex: z.union([z.string(), z.array(z.string())]).default("The final answer is (.+)$"),
    /** Relaxed: extract_regex first, then the last \boxed{}. */
    relaxed: z.boolean().default(true),
    // vlmpipe's opt-ins (off: NeMo-Skills main's behaviour):
    /** An `Answer: X` line beats a letter inside a longer boxed text (NeMo-Skills #1511, open PR #1526). */
    answer_line_first: z.boolean().default(false),
    /** Trim both answers and upper-case single letters before comparing. */
    normalize_expected_answer: z.boolean().default(false),
    /** eval's metrics: majority@k votes by answer alone, not (answer, verdict) pairs (open NeMo-Skills PR #1519). */
    majority_by_answer: z.boolean().default(false),
  })
  .strict();

/** Everything `++key=value` may set for generate / eval / score. */
export const GenerationConfigSchema = z
  .object({
    inference: InferenceSchema.default(InferenceSchema.parse({})),
    server: ServerSchema.default(ServerSchema.parse({})),
    image: ImageOptionsSchema.default(ImageOptionsSchema.parse({})),
    eval_config: EvalConfigSchema.default(EvalConfigSchema.parse({})),
    /** Take only the first N rows; 0 or less: all (NeMo-Skills limits only when > 0), read as -1. */
    max_samples: z
      .number()
      .int()
      .transform((n) => (n > 0 ? n : -1))
      .default(-1),
    /** Keep only the text after the last end_reasoning_string as the generation. */
    parse_reasoning: z.boolean().default(false),
    end_reasoning_string: z.string().default("</think>"),
    /** Where the model's thinking starts: with a server-side reasoning parser, a continued answer is sent back as start + reasoning + end + content. */
    reasoning_start_string: z.string().default("<think>"),
    resume_partial: ResumePartialSchema.default(ResumePartialSchema.parse({})),
    /** Shortcut for inference.extra_body.chat_template_kwargs (as in NeMo-Skills). */
    chat_template_kwargs: z.record(z.string(), z.unknown()).optional(),
    /** Replaces the prompt config's system message; null: the prompt config's own. */
    system_message: noneIsUnset(z.string()),
    /** Appended to the user message, e.g. " /no_think". */
    prompt_suffix: z.string().default(""),
    max_concurrent_requests: z.number().int().positive().optional(),
  })
  .strict();

export type GenerationConfig = z.infer<typeof GenerationConfigSchema>;
export type InferenceConfig = z.infer<typeof InferenceSchema>;
export type ServerConfig = z.infer<typeof ServerSchema>;
export type ResumePartialConfig = z.infer<typeof ResumePartialSchema>;

/** Validates overrides; an unknown key names the known ones at that level. */
export function parseGenerationConfig(raw: Record<string, unknown>): GenerationConfig {
  const r = GenerationConfigSchema.safeParse(raw);
  if (r.success) return withoutUnset(r.data);
  throw new UsageError(formatZodError(r.error, "++", GenerationConfigSchema));
}

/**
 * The config without the keys a null left unset (noneIsUnset): zod keeps a key given as null
 * with the value undefined, and the run's spec, compared key by key, would then differ from
 * that of a run that did not give it.
 */
function withoutUnset<T>(v: T): T {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
  // (fromEntries defines keys: an extra_body key named __proto__ stays a key.)
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => [k, withoutUnset(x)]),
  ) as T;
}

/** zod issues as lines a person can act on; unknown keys list the allowed ones. */
export function formatZodError(err: z.ZodError, prefix: string, schema?: z.ZodType): string {
  const lines = err.issues.map((issue) => {
    const where = issue.path.join(".");
    if (issue.code === "unrecognized_keys") {
      const known = schema ? knownKeys(schema, issue.path.map(String)) : [];
      const base = where ? `${where}.` : "";
      const keys = issue.keys.map((k) => `${prefix}${base}${k}`).join(", ");
      return (
        `unknown key ${keys}` + (known.length ? `; known keys${where ? ` of ${where}` : ""}: ${known.join(", ")}` : "")
      );
    }
    return `${prefix}${where || "(root)"}: ${issue.message}`;
  });
  return lines.join("\n");
}

function knownKeys(schema: z.ZodType, path: string[]): string[] {
  let cur: z.ZodType | undefined = schema;
  for (const p of path) cur = unwrap(cur) instanceof z.ZodObject ? (unwrap(cur) as z.ZodObject).shape[p] : undefined;
  const obj = cur ? unwrap(cur) : undefined;
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}

function unwrap(t: z.ZodType | undefined): z.ZodType | undefined {
  let cur = t;
  while (cur && (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodNullable)) {
    cur = (cur as z.ZodDefault<z.ZodType>).unwrap() as z.ZodType;
  }
  return cur;
}
