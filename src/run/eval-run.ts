import { createWriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { summarizeResults } from "../cli/summarize-results.js";
import { deepMerge } from "../config/overrides.js";
import { UsageError } from "../errors.js";
import type { Metrics } from "../metrics/types.js";
import { exists } from "../output/partial-output.js";
import { type BenchmarkRun, outputName, parseBenchmarks } from "./benchmark-spec.js";
import type { EvalType } from "./evaluation-stages.js";
import { runGenerate } from "./generate-run.js";

export type EvalRunOptions = {
  benchmarks: string;
  model: string;
  dataDir: string;
  outputDir: string;
  /** OpenAI base URL of a running server. */
  serverAddress: string;
  apiKey?: string;
  maxConcurrentRequests: number;
  overrides?: Record<string, unknown>;
  /** Overrides each benchmark's own extractor. */
  evalType?: EvalType;
  log?: (line: string) => void;
  /** Receives the metrics tables (stdout). */
  write?: (text: string) => void;
  progressSeconds?: number;
  stop?: AbortSignal;
  abort?: AbortSignal;
};

export type EvalRunResult = { metrics: Metrics; failedRows: number; interrupted: boolean };

/** NeMo-Skills' sampling defaults for `benchmark:N` runs; the user's ++ overrides win. */
const SAMPLING_DEFAULTS = { temperature: 0.7, top_p: 0.95, top_k: -1 };

/**
 * `vlmpipe eval`: for each benchmark and seed, a resumable generate run into
 * `<output_dir>/eval-results/<benchmark>/output[-rs<seed>].jsonl` (logs in eval-logs/), then
 * summarize_results writes metrics.json beside the outputs and prints the tables.
 */
export async function runEval(opts: EvalRunOptions): Promise<EvalRunResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const runs = parseBenchmarks(opts.benchmarks);
  for (const r of runs) await dataFile(opts.dataDir, r);
  const resultsDir = path.join(opts.outputDir, "eval-results");
  const logsDir = path.join(opts.outputDir, "eval-logs");
  await mkdir(logsDir, { recursive: true });

  let failedRows = 0;
  const metrics: Metrics = {};
  for (const run of runs) {
    const benchDir = path.join(resultsDir, run.benchmark.name);
    for (const seed of run.seeds ?? [null]) {
      const name = outputName(seed);
      const logFile = createWriteStream(path.join(logsDir, `${run.benchmark.name}-${name.replace(/\.jsonl$/, "")}.log`), { flags: "a" });
      const tee = (l: string) => {
        logFile.write(`${new Date().toISOString()} ${l}\n`);
        log(l);
      };
      try {
        tee(`vlmpipe eval: ${run.benchmark.name} ${seed === null ? "greedy" : `seed ${seed}`} -> ${path.join(benchDir, name)}`);
        const result = await runGenerate({
          inputFile: await dataFile(opts.dataDir, run),
          outputFile: path.join(benchDir, name),
          promptConfig: run.benchmark.promptConfig,
          model: opts.model,
          serverAddress: opts.serverAddress,
          apiKey: opts.apiKey,
          maxConcurrentRequests: opts.maxConcurrentRequests,
          overrides: runOverrides(run, seed, opts.overrides ?? {}),
          evalType: opts.evalType ?? run.benchmark.evalType,
          log: tee,
          progressSeconds: opts.progressSeconds,
          stop: opts.stop,
          abort: opts.abort,
        });
        failedRows += result.stats.failed;
        if (result.interrupted) return { metrics, failedRows, interrupted: true };
      } finally {
        await new Promise((r) => logFile.end(r));
      }
    }
    Object.assign(
      metrics,
      await summarizeResults(benchDir, {
        saveMetricsPath: path.join(benchDir, "metrics.json"),
        maxSamples: maxSamplesOf(opts.overrides),
        write: opts.write,
      }),
    );
  }
  return { metrics, failedRows, interrupted: false };
}

/** Sampled runs get NeMo-Skills' sampling defaults; random_seed is always the run's seed. */
export function runOverrides(run: BenchmarkRun, seed: number | null, user: Record<string, unknown>): Record<string, unknown> {
  const base: Record<string, unknown> = { inference: { ...(run.benchmark.inference ?? {}) } };
  if (seed === null) return deepMerge(base, user);
  const sampled = deepMerge(deepMerge(base, { inference: SAMPLING_DEFAULTS }), user);
  return deepMerge(sampled, { inference: { random_seed: seed } });
}

function maxSamplesOf(overrides: Record<string, unknown> | undefined): number | undefined {
  const v = overrides?.max_samples;
  return typeof v === "number" && v >= 0 ? v : undefined;
}

/** `<data_dir>/<folder>/test.jsonl`, or a set-up error saying how to make it. */
export async function dataFile(dataDir: string, run: BenchmarkRun): Promise<string> {
  const f = path.join(dataDir, run.benchmark.dataFolder, run.benchmark.split);
  if (!(await exists(f))) {
    const p = run.benchmark.prepare;
    throw new UsageError(
      `${f} not found: prepare it first with \`vlmpipe prepare_data ${p.benchmark} --data_dir ${dataDir} --config ${p.config}\``,
    );
  }
  return f;
}

/** Every row of a benchmark's data: the simulator's answer book in sim mode. */
export async function readDataRows(file: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
