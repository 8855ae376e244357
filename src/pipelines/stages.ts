import { identity, type MonoTypeOperatorFunction, type OperatorFunction } from "rxjs";
import { z } from "zod";
import { EVAL_TYPE_NAMES } from "../benchmarks/eval-types.js";
import type { PartialAnswers } from "../client/partial-answers.js";
import type { ChatClient } from "../client/types.js";
import { type GenerationConfig, InferenceSchema } from "../config/generation-config.js";
import { deepMerge } from "../config/overrides.js";
import type { DiskImageCache } from "../images/disk-cache.js";
import type { ImageCache } from "../images/image-cache.js";
import type { ImageOptions } from "../images/options.js";
import type { ServerType } from "../operators/build-request.js";
import { extractAnswer } from "../operators/extract-answer.js";
import { generate } from "../operators/generate.js";
import { judge } from "../operators/judge.js";
import { parseReasoning } from "../operators/parse-reasoning.js";
import { renderPrompt } from "../operators/render-prompt.js";
import { resolveImages } from "../operators/resolve-images.js";
import { score } from "../operators/score.js";
import type { LoadedPrompt } from "../prompts/load-prompt-config.js";
import type { Sample } from "../types.js";
import { extractOptions, scoreOptions } from "./eval-options.js";

/** What a stage may use from its run. */
export type StageContext = {
  model: string;
  config: GenerationConfig;
  client: ChatClient;
  /** Requests in flight allowed now (the adaptive limit). */
  concurrency: () => number;
  inFlight: { active: number; pending: number };
  baseDir: string;
  image: ImageOptions;
  imageCache: ImageCache;
  /** Verdicts on disk shared with other processes (image.cache_dir), if set. */
  imageDisk?: DiskImageCache;
  /** The run's feedback from each generated row (runFeedback: adaptive limit, --max_failures). */
  afterGenerate: MonoTypeOperatorFunction<Sample>;
  /** A client for another server (e.g. a judge model), closed with the run. */
  clientFor(serverAddress: string): ChatClient;
  /** Prompt configs named by stages, loaded when the pipeline was loaded. */
  prompts: Map<string, LoadedPrompt>;
  /** Streamed answers kept in flight (++resume_partial), for the generate stage. */
  partial?: PartialAnswers;
  /** The run's graceful stop: no new request (generate) or image read (resolveImages) once it fires. */
  stop?: AbortSignal;
  /** The run's server kind (--server_type), for generate and a judge on the same server. */
  serverType?: ServerType;
};

type StageDef<S extends z.ZodType> = {
  options: S;
  /** Prompt configs the stage needs loaded (set-up errors surface before any row). */
  prompts?: (o: z.infer<S>) => string[];
  build(o: z.infer<S>, ctx: StageContext): OperatorFunction<Sample, Sample>;
};

const define = <S extends z.ZodType>(d: StageDef<S>) => d;
const prompt = (ctx: StageContext, name: string) => (ctx.prompts.get(name) as LoadedPrompt).config;

/**
 * The stages a pipeline YAML may name, each with its options' schema. A stage is one of the
 * library's operators with its options; model, server and `++` settings come from the run.
 */
export const STAGES = {
  renderPrompt: define({
    options: z
      .object({
        prompt_config: z.string(),
        /** Also fill placeholders from earlier stages' outputs (generation, ...). */
        with_outputs: z.boolean().default(false),
      })
      .strict(),
    prompts: (o) => [o.prompt_config],
    build: (o, ctx) =>
      renderPrompt(prompt(ctx, o.prompt_config), {
        systemMessage: ctx.config.system_message,
        promptSuffix: ctx.config.prompt_suffix,
        withOutputs: o.with_outputs,
      }),
  }),
  resolveImages: define({
    options: z.object({ concurrency: z.number().int().positive().default(8) }).strict(),
    build: (o, ctx) =>
      resolveImages({
        baseDir: ctx.baseDir,
        options: ctx.image,
        cache: ctx.imageCache,
        disk: ctx.imageDisk,
        concurrency: o.concurrency,
        stop: ctx.stop,
      }),
  }),
  generate: define({
    options: z.object({}).strict(),
    build: (_o, ctx) =>
      generate({
        client: ctx.client,
        model: ctx.model,
        inference: inferenceOf(ctx.config),
        stream: ctx.config.server.stream,
        concurrency: ctx.concurrency,
        stats: ctx.inFlight,
        partial: ctx.partial,
        stop: ctx.stop,
        serverType: ctx.serverType,
      }),
  }),
  /** Right after generate: successes grow the adaptive limit; --max_failures stops the run. */
  runFeedback: define({
    options: z.object({}).strict(),
    build: (_o, ctx) => ctx.afterGenerate,
  }),
  parseReasoning: define({
    options: z
      .object({
        end_reasoning_string: z.string().default("</think>"),
        /** Run only with ++parse_reasoning=True, splitting at ++end_reasoning_string (the standard chain). */
        follow_settings: z.boolean().optional(),
      })
      .strict(),
    build: (o, ctx) => {
      if (!o.follow_settings) return parseReasoning({ endReasoningString: o.end_reasoning_string });
      if (!ctx.config.parse_reasoning) return identity;
      return parseReasoning({ endReasoningString: ctx.config.end_reasoning_string });
    },
  }),
  extractAnswer: define({
    options: z.object({ eval_type: z.enum(EVAL_TYPE_NAMES).default("multichoice") }).strict(),
    build: (o, ctx) => extractAnswer(extractOptions(ctx.config, o.eval_type)),
  }),
  score: define({ options: z.object({}).strict(), build: (_o, ctx) => score(scoreOptions(ctx.config)) }),
  judge: define({
    options: z
      .object({
        prompt_config: z.string(),
        /** Judge model; default: the run's model. */
        model: z.string().optional(),
        /** Judge server; default: the run's server(s). */
        server_address: z.string().optional(),
        output_key: z.string().default("judgement"),
        /** Opt-in: a regex whose first group is the verdict (its last match); default NeMo-Skills' "Judgement: yes/no". */
        verdict_pattern: z
          .string()
          .optional()
          .superRefine((v, ctx) => {
            if (v === undefined) return;
            let groups: number;
            try {
              // (the groups of a pattern: those of its match of "" with an empty alternative added)
              groups = (new RegExp(`${v}|`, "gi").exec("")?.length ?? 1) - 1;
            } catch (e) {
              ctx.addIssue({ code: "custom", message: `not a regular expression: ${(e as Error).message}` });
              return;
            }
            if (groups < 1) ctx.addIssue({ code: "custom", message: "needs a group (...) holding the verdict" });
          }),
        /** With verdict_pattern: the verdict that means correct. */
        correct_verdict: z.string().default("Yes"),
        /**
         * The judge's sampling settings (greedy by default), over the run's: only the keys given
         * (zod 4's partial() would fill every default in, and the run's settings were lost).
         */
        inference: z
          .record(z.string(), z.unknown())
          .default({ temperature: 0 })
          .superRefine((v, ctx) => {
            const r = InferenceSchema.partial().safeParse(v);
            for (const issue of r.error?.issues ?? []) {
              ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
            }
          }),
      })
      .strict(),
    prompts: (o) => [o.prompt_config],
    build: (o, ctx) =>
      judge({
        client: o.server_address ? ctx.clientFor(o.server_address) : ctx.client,
        // Another server's kind is not known: nothing kind-specific is sent to it.
        serverType: o.server_address ? undefined : ctx.serverType,
        model: o.model ?? ctx.model,
        prompt: prompt(ctx, o.prompt_config),
        inference: InferenceSchema.parse(deepMerge(inferenceOf(ctx.config), o.inference)),
        stream: ctx.config.server.stream,
        outputKey: o.output_key,
        verdictPattern: o.verdict_pattern,
        correctVerdict: o.correct_verdict,
        concurrency: ctx.concurrency,
        stop: ctx.stop,
      }),
  }),
} as const;

export type StageName = keyof typeof STAGES;

/** NeMo-Skills' top-level ++chat_template_kwargs goes into the request's extra body. */
export function inferenceOf(config: GenerationConfig): GenerationConfig["inference"] {
  if (!config.chat_template_kwargs) return config.inference;
  return {
    ...config.inference,
    extra_body: { ...config.inference.extra_body, chat_template_kwargs: config.chat_template_kwargs },
  };
}
