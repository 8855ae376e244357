import { readFile } from "node:fs/promises";
import path from "node:path";
import { deepMerge } from "../config/overrides.js";
import { UsageError } from "../errors.js";
import { exists } from "../output/partial-output.js";
import type { BenchmarkRun } from "../run/benchmark-spec.js";

/** NeMo-Skills' sampling defaults for `benchmark:N` runs; the user's ++ overrides win. */
const SAMPLING_DEFAULTS = { temperature: 0.7, top_p: 0.95, top_k: -1 };

/** Sampled runs get NeMo-Skills' sampling defaults; random_seed is always the run's seed. */
export function runOverrides(
  run: BenchmarkRun,
  seed: number | null,
  user: Record<string, unknown>,
): Record<string, unknown> {
  const base: Record<string, unknown> = { inference: { ...(run.benchmark.inference ?? {}) } };
  if (seed === null) return deepMerge(base, user);
  const sampled = deepMerge(deepMerge(base, { inference: SAMPLING_DEFAULTS }), user);
  return deepMerge(sampled, { inference: { random_seed: seed } });
}

/**
 * `++max_samples=N`: the first N rows (undefined: all). As in NeMo-Skills' generate.py
 * (`if max_samples > 0`), 0 and below mean every row, for the plan's chunks as for the runs.
 */
export function maxSamplesOf(overrides: Record<string, unknown> | undefined): number | undefined {
  const v = overrides?.max_samples;
  return typeof v === "number" && v > 0 ? v : undefined;
}

/** `++eval_config.majority_by_answer=true`: summarize's vote by answer alone (vlmpipe's opt-in). */
export function majorityByAnswerOf(overrides: Record<string, unknown> | undefined): boolean {
  const ec = overrides?.eval_config;
  return typeof ec === "object" && ec !== null && (ec as Record<string, unknown>).majority_by_answer === true;
}

/** `<data_dir>/<folder>/<split>.jsonl` (the benchmark's split unless `split`), or a set-up error saying how to make it. */
export async function dataFile(dataDir: string, run: BenchmarkRun, split?: string): Promise<string> {
  const f = path.join(dataDir, run.benchmark.dataFolder, split ? `${split}.jsonl` : run.benchmark.split);
  if (!(await exists(f))) {
    const p = run.benchmark.prepare;
    if (split && `${split}.jsonl` !== run.benchmark.split) {
      throw new UsageError(
        `${f} not found: prepare that split first (\`vlmpipe prepare_data ${p.benchmark} --data_dir ${dataDir} --config <config>\`, the configs in docs/commands.md), or drop --split for ${run.benchmark.split}`,
      );
    }
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
