import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Command, Option } from "commander";
import { getBenchmark } from "../benchmarks/index.js";
import { UsageError } from "../errors.js";
import { computeMetrics, nameSubsets } from "../metrics/compute.js";
import { formatMetrics } from "../metrics/format.js";
import { locateBenchmarks } from "../metrics/locate.js";
import type { Metrics } from "../metrics/types.js";

export type SummarizeOptions = {
  /** Only these benchmark folders (default: every one found). */
  benchmarks?: readonly string[];
  /** Where metrics.json goes (default `<results>/metrics.json`, next to the benchmark folders); false: not written. */
  saveMetricsPath?: string | false;
  /** Only the first N rows of each file. */
  maxSamples?: number;
  /** Receives the tables and the "saved to" line; nothing is printed without it. */
  write?: (text: string) => void;
};

/**
 * NeMo-Skills' summarize_results: finds the benchmarks under `resultsDir` (itself a benchmark
 * folder, `<dir>/eval-results/<benchmark>/`, or `<dir>/<benchmark>/`), computes each one's metrics
 * from `output.jsonl` or its `output-rs<seed>.jsonl` files (ours or NeMo-Skills'), prints the tables
 * and writes one metrics.json with every benchmark. The eval command gives one benchmark and
 * `saveMetricsPath: <benchmark dir>/metrics.json`, as NeMo-Skills' eval does.
 */
export async function summarizeResults(resultsDir: string, opts: SummarizeOptions = {}): Promise<Metrics> {
  const { root, benchmarks } = locateBenchmarks(resultsDir, opts.benchmarks);
  const results: Metrics = {};
  if (benchmarks.length === 0) {
    opts.write?.(`No benchmarks found in ${root}\n`);
    return results;
  }
  for (const b of benchmarks) {
    // A known benchmark's own grouping (MMMU's disciplines) by its folder name.
    const groupsOf = getBenchmark(b.name)?.metricGroups;
    const bySubset = await computeMetrics(b.files, { maxSamples: opts.maxSamples, groupsOf });
    Object.assign(results, nameSubsets(b.name, bySubset));
  }
  opts.write?.(formatMetrics(results));
  if (opts.saveMetricsPath !== false) {
    const path = opts.saveMetricsPath ?? join(root, "metrics.json");
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
    opts.write?.(`Metrics are saved to ${path}\n`);
  }
  return results;
}

/** `summarize_results <results_dir> [--benchmarks a,b] [--save_metrics_path F] [--max_samples N]` */
export function registerSummarizeResults(program: Command): Command {
  return program
    .command("summarize_results")
    .description("compute metrics.json and print the tables for the benchmarks in a results folder (NeMo-Skills' summarize_results)")
    .argument("<results_dir>", "an eval output dir, its eval-results/ folder, or one benchmark folder")
    .option("--benchmarks <list>", "comma-separated benchmark folders to summarize (default: all)")
    .option("--save_metrics_path <file>", "where to write metrics.json (default: <results_dir>/metrics.json)")
    .addOption(new Option("--save-metrics-path <file>").hideHelp())
    .option("--max_samples <n>", "use only the first N rows of each file")
    .addOption(new Option("--max-samples <n>").hideHelp())
    .action(async (resultsDir: string, raw: Record<string, string | undefined>, cmd: Command) => {
      const list = raw.benchmarks;
      if (list !== undefined && /\s/.test(list.trim())) throw new UsageError("--benchmarks takes names separated by commas, without spaces");
      const benchmarks = list?.split(",").map((b) => b.trim()).filter((b) => b !== "");
      const maxRaw = raw.max_samples ?? raw.maxSamples;
      const maxSamples = maxRaw === undefined ? undefined : Number(maxRaw);
      if (maxSamples !== undefined && !Number.isInteger(maxSamples)) throw new UsageError(`--max_samples takes an integer, got "${maxRaw}"`);
      const out = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      await summarizeResults(resultsDir, {
        benchmarks,
        saveMetricsPath: raw.save_metrics_path ?? raw.saveMetricsPath,
        maxSamples,
        write: out,
      });
    });
}
