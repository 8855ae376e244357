import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeWholeOutput } from "../output/special-output.js";
import { addBenchmarkGroups } from "./benchmark-groups.js";
import { computeSubsetMetrics, nameSubsets } from "./compute.js";
import { formatMetrics } from "./format.js";
import { locateBenchmarks } from "./locate.js";
import { pyJsonDump } from "./py-json.js";
import type { Metrics, OrderedMetrics } from "./types.js";

export type SummarizeOptions = {
  /** Only these benchmark folders (default: every one found). */
  benchmarks?: readonly string[];
  /** Where metrics.json goes (default `<results>/metrics.json`, next to the benchmark folders); false: not written. */
  saveMetricsPath?: string | false;
  /** Only the first N rows of each file. */
  maxSamples?: number;
  /** majority@k votes by answer alone (vlmpipe's opt-in; NeMo-Skills votes (answer, verdict) pairs). */
  majorityByAnswer?: boolean;
  /** A benchmark's own metric grouping by its folder name (MMMU's disciplines), from the benchmark registry. */
  groupsOf?: (benchmark: string) => ((subset: string) => readonly string[]) | undefined;
  /** Receives the tables and the "saved to" line; nothing is printed without it. */
  write?: (text: string) => void;
};

/**
 * NeMo-Skills' summarize_results: finds the benchmarks under `resultsDir` (itself a benchmark
 * folder, `<dir>/eval-results/<benchmark>/`, or `<dir>/<benchmark>/`), computes each one's metrics
 * from `output.jsonl` or its `output-rs<seed>.jsonl` files (ours or NeMo-Skills'), adds the averages
 * of dotted benchmark groups (addBenchmarkGroups), prints the tables and writes one metrics.json
 * with every benchmark, byte for byte as NeMo-Skills' json.dump writes it (pyJsonDump). The eval
 * command gives one benchmark and `saveMetricsPath: <benchmark dir>/metrics.json`, as NeMo-Skills'
 * eval does.
 * The returned object holds what metrics.json holds; being a JavaScript object, it lists
 * integer-like names (a benchmark or subset "3") first, where the file and the tables keep
 * NeMo-Skills' order.
 */
export async function summarizeResults(resultsDir: string, opts: SummarizeOptions = {}): Promise<Metrics> {
  const { root, benchmarks } = locateBenchmarks(resultsDir, opts.benchmarks);
  if (benchmarks.length === 0) {
    opts.write?.(`No benchmarks found in ${root}\n`);
    return {};
  }
  const named: OrderedMetrics = new Map();
  for (const b of benchmarks) {
    const bySubset = await computeSubsetMetrics(b.files, {
      maxSamples: opts.maxSamples,
      majorityByAnswer: opts.majorityByAnswer,
      groupsOf: opts.groupsOf?.(b.name),
    });
    // results[name].update(...) upstream: a name met again keeps its place, its modes replaced.
    for (const [name, modes] of nameSubsets(b.name, bySubset)) named.set(name, { ...named.get(name), ...modes });
  }
  const { results, skipped } = addBenchmarkGroups(named);
  for (const why of skipped) opts.write?.(`vlmpipe: ${why}; the group is left out\n`);
  opts.write?.(formatMetrics(results));
  if (opts.saveMetricsPath !== false) {
    const path = opts.saveMetricsPath ?? join(root, "metrics.json");
    await mkdir(dirname(path), { recursive: true });
    // (/dev/stdout is appended to, a device or pipe written as a stream; see writeWholeOutput).
    // A file is written aside and renamed: an eval killed here leaves the earlier metrics or the
    // new ones, never half a file.
    await writeWholeOutput(path, pyJsonDump(results), async (target, text) => {
      const tmp = `${target}.tmp-${process.pid}`;
      try {
        await writeFile(tmp, text);
        await rename(tmp, target);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    });
    opts.write?.(`Metrics are saved to ${path}\n`);
  }
  return Object.fromEntries(results);
}
