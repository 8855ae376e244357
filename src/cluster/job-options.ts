import path from "node:path";
import { simulatorIdentity } from "../run/run-setup.js";
import { runOverrides } from "./eval-inputs.js";
import type { EvalJob, EvalPlan } from "./plan.js";

/** A refusal's advice for an eval: the flags that discard its outputs. */
export const EVAL_OVERRIDE_FLAGS = "--overwrite";

/**
 * What a job runs, as runGenerate (and the planner's identity check) take it: the benchmark's
 * prompt config and extractor, the seed's sampling settings, the chunk's rows, the simulator.
 */
export function jobRunOptions(plan: EvalPlan, job: EvalJob) {
  const b = plan.benchmarks.find((x) => x.name === job.benchmark);
  if (!b) throw new Error(`internal: job ${job.key} is not in the plan`);
  const s = plan.settings;
  return {
    inputFile: job.inputFile,
    outputFile: job.outputFile,
    promptConfig: b.run.benchmark.promptConfig,
    model: s.model,
    maxConcurrentRequests: s.maxConcurrentRequests,
    overrides: withImageCacheDir(runOverrides(b.run, job.seed, s.overrides), path.join(s.outputDir, "image-cache")),
    evalType: s.evalType ?? b.run.benchmark.evalType,
    rowRange: job.chunk ? { start: job.chunk.start, end: job.chunk.end } : undefined,
    simulator: s.simulator ?? (s.server.kind === "sim" ? simulatorIdentity(s.server.sim) : undefined),
    serverType: s.server.kind === "sim" ? ("sim" as const) : s.server.type,
    overrideFlags: EVAL_OVERRIDE_FLAGS,
  };
}

/**
 * The eval's jobs (one per seed or chunk, often on other nodes) share their image checks
 * through `<output_dir>/image-cache`, unless the user chose a folder (or null: none) with
 * `++image.cache_dir`.
 */
export function withImageCacheDir(overrides: Record<string, unknown>, dir: string): Record<string, unknown> {
  const image = (overrides.image ?? {}) as Record<string, unknown>;
  if ("cache_dir" in image) return overrides;
  return { ...overrides, image: { ...image, cache_dir: dir } };
}
