import { z } from "zod";
import { UsageError } from "../errors.js";
import { ImageOptionsSchema } from "../images/options.js";
import { timerSeconds } from "../util/timer-seconds.js";

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
    random_seed: z.number().int().default(0),
    /** max_tokens; null lets the server use what is left of the context. */
    tokens_to_generate: z.number().int().positive().nullable().default(null),
    stop: z.union([z.string(), z.array(z.string())]).optional(),
    /** Seconds one request may take in all, retries not counted (NeMo-Skills' default). */
    timeout: timerSeconds().default(14400),
    reasoning_effort: z.string().optional(),
    /** Merged into the request body as is: chat_template_kwargs, mm_processor_kwargs, ... */
    extra_body: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** How we talk to the server (transport, not sampling). */
export const ServerSchema = z
  .object({
    /** Stream with SSE: long generations then never wait for headers (undici's 300 s default). */
    stream: z.boolean().default(true),
    /** Seconds without a byte on a streaming answer before it is aborted and retried. */
    idle_timeout: timerSeconds().default(1800),
    /** Seconds to wait for the answer's headers when not streaming; defaults to inference.timeout. */
    timeout: timerSeconds().optional(),
    max_retries: z.number().int().min(0).default(6),
    /** First backoff delay in ms; doubled per attempt, with full jitter, capped at max_backoff_ms. */
    backoff_ms: z.number().int().min(0).default(1000),
    max_backoff_ms: z.number().int().min(0).default(60_000),
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
    /** Take only the first N rows (-1: all). */
    max_samples: z.number().int().default(-1),
    /** Keep only the text after the last end_reasoning_string as the generation. */
    parse_reasoning: z.boolean().default(false),
    end_reasoning_string: z.string().default("</think>"),
    /** Where the model's thinking starts: with a server-side reasoning parser, a continued answer is sent back as start + reasoning + end + content. */
    reasoning_start_string: z.string().default("<think>"),
    resume_partial: ResumePartialSchema.default(ResumePartialSchema.parse({})),
    /** Shortcut for inference.extra_body.chat_template_kwargs (as in NeMo-Skills). */
    chat_template_kwargs: z.record(z.string(), z.unknown()).optional(),
    /** Replaces the prompt config's system message. */
    system_message: z.string().optional(),
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
  if (r.success) return r.data;
  throw new UsageError(formatZodError(r.error, "++", GenerationConfigSchema));
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
