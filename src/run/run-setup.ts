import { stat } from "node:fs/promises";
import path from "node:path";
import type { EvalType } from "../benchmarks/eval-types.js";
import { type GenerationConfig, parseGenerationConfig } from "../config/generation-config.js";
import { deepMerge } from "../config/overrides.js";
import { UsageError } from "../errors.js";
import { type ImageOptions, ImageOptionsSchema, withoutCacheSettings } from "../images/options.js";
import type { RunSpec } from "../output/run-spec.js";
import { type LoadedPipeline, mainPrompt, standardPipeline } from "../pipelines/pipeline.js";
import { inferenceOf } from "../pipelines/stages.js";
import type { LoadedPrompt } from "../prompts/load-prompt-config.js";
import { VERSION } from "../version.js";

/** What a run is made of, from its options alone (no file but the prompt config is read, nothing is sent). */
export type RunSetup = {
  config: GenerationConfig;
  pipeline: LoadedPipeline;
  image: ImageOptions;
  concurrency: number;
  /** The run's identity, compared with an earlier run's on resume. */
  spec: RunSpec;
};

export type RunSetupOptions = {
  inputFile: string;
  promptConfig?: string;
  pipeline?: LoadedPipeline;
  model: string;
  maxConcurrentRequests: number;
  overrides?: Record<string, unknown>;
  evalType?: EvalType;
  rowRange?: { start: number; end: number };
  /** `--server_type sim`: the simulator's settings that decide its answers. */
  simulator?: Record<string, unknown>;
};

/**
 * Parses the settings, loads the chain and states the run's spec: model, prompt config
 * (content hash), inference and generation settings, extractor, row range, simulator. Refuses
 * bad settings (UsageError) before anything else happens.
 */
export async function setUpRun(opts: RunSetupOptions): Promise<RunSetup> {
  const overrides = opts.overrides ?? {};
  const config = parseGenerationConfig(overrides);
  withChatTemplateKwargs(config); // refuses chat_template_kwargs given twice
  if (!opts.pipeline && !opts.promptConfig)
    throw new UsageError("give a prompt config (--prompt_config) or a pipeline");
  const pipeline = opts.pipeline ?? (await standardPipeline(opts.promptConfig as string, opts.evalType));
  const prompt = mainPrompt(pipeline);
  const image = mergeImageOptions(prompt, overrides);
  const fromStdin = opts.inputFile === "-";
  const spec: RunSpec = {
    vlmpipe_version: VERSION,
    model: opts.model,
    prompt_config: opts.pipeline ? opts.pipeline.file : (prompt?.file ?? ""),
    prompt_hash: opts.pipeline ? opts.pipeline.hash : (prompt?.hash ?? ""),
    ...(opts.pipeline ? { pipeline: opts.pipeline.identity } : {}),
    inference: comparableInference(config),
    generation: {
      eval_type: opts.evalType ?? null,
      // The settings that decide a row's predicted_answer and symbolic_correct (majority_by_answer
      // only changes the metrics computed later).
      eval_config: opts.evalType ? rowScoring(config.eval_config) : null,
      parse_reasoning: config.parse_reasoning,
      end_reasoning_string: config.end_reasoning_string,
      system_message: config.system_message ?? null,
      prompt_suffix: config.prompt_suffix,
      image: withoutCacheSettings(image),
      ...(opts.rowRange ? { row_range: [opts.rowRange.start, opts.rowRange.end] } : {}),
    },
    simulator: opts.simulator ?? null,
    input_file: fromStdin ? "-" : path.resolve(opts.inputFile),
    input_bytes: fromStdin ? null : await sizeOf(opts.inputFile),
    created: new Date().toISOString(),
  };
  return { config, pipeline, image, concurrency: config.max_concurrent_requests ?? opts.maxConcurrentRequests, spec };
}

function rowScoring({ majority_by_answer: _, ...rest }: GenerationConfig["eval_config"]): Record<string, unknown> {
  return rest;
}

/**
 * The simulator's part of a run's identity: its accuracy and seed decide its answers, as a
 * model's weights do (its latency does not). A rerun with other values is another run.
 */
export function simulatorIdentity(sim: { sim_accuracy: number; sim_seed: number }): Record<string, unknown> {
  return { accuracy: sim.sim_accuracy, seed: sim.sim_seed };
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch {
    return null;
  }
}

export function imageBaseDir(opts: { inputFile: string; dataDir?: string }): string {
  if (opts.dataDir) return path.resolve(opts.dataDir);
  return opts.inputFile === "-" ? process.cwd() : path.dirname(path.resolve(opts.inputFile));
}

export function mergeImageOptions(prompt: LoadedPrompt | undefined, overrides: Record<string, unknown>): ImageOptions {
  const fromPrompt = (prompt?.config.image ?? {}) as Record<string, unknown>;
  const fromFlags = (overrides.image ?? {}) as Record<string, unknown>;
  return ImageOptionsSchema.parse(deepMerge(fromPrompt, fromFlags));
}

/** inferenceOf (the pipeline stages' merge), refusing chat_template_kwargs given twice. */
export function withChatTemplateKwargs(config: GenerationConfig): GenerationConfig["inference"] {
  if (!config.chat_template_kwargs) return config.inference;
  if (config.inference.extra_body.chat_template_kwargs) {
    throw new UsageError(
      "chat_template_kwargs is given both as ++chat_template_kwargs and in ++inference.extra_body: use one",
    );
  }
  return inferenceOf(config);
}

/** Settings that change what the model produces (timeouts do not). */
function comparableInference(config: GenerationConfig): Record<string, unknown> {
  const { timeout: _t, ...rest } = withChatTemplateKwargs(config);
  return rest;
}
