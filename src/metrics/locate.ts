import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { UsageError } from "../errors.js";

/** A benchmark folder and the output files summarize reads from it. */
export type BenchmarkOutputs = {
  name: string;
  dir: string;
  /** `output.jsonl` (greedy) or the `output-rs<seed>.jsonl` files, sorted by name. */
  files: string[];
  greedy: boolean;
};

const ANY_OUTPUT_RE = /^output.*jsonl$/;
const SEED_OUTPUT_RE = /^output-rs\d.*\.jsonl$/;

/**
 * Where results are, the way NeMo-Skills' summarize_results looks (in this order):
 * `<dir>/output*jsonl` (dir is one benchmark), `<dir>/eval-results/<benchmark>/`, `<dir>/<benchmark>/`.
 * Returns the folder that holds the benchmarks (metrics.json goes there by default) and each
 * benchmark's outputs, sorted by name; hidden folders and those whose name contains "-logs" are skipped.
 */
export function locateBenchmarks(
  resultsDir: string,
  only?: readonly string[],
): { root: string; benchmarks: BenchmarkOutputs[] } {
  if (!isDir(resultsDir)) throw new UsageError(`results directory not found: ${resultsDir}`);
  let root = resultsDir;
  let dirs: string[];
  if (hasOutputs(resultsDir)) {
    dirs = [resultsDir];
  } else {
    if (isDir(join(resultsDir, "eval-results"))) root = join(resultsDir, "eval-results");
    dirs = readdirSync(root)
      // glob("*") in NeMo-Skills: hidden folders (.ipynb_checkpoints, .git) are not benchmarks.
      .filter((n) => !n.startsWith(".") && !n.includes("-logs") && isDir(join(root, n)))
      .map((n) => join(root, n));
    if (root === resultsDir && !dirs.some(hasOutputs)) {
      throw new UsageError(`${resultsDir} holds no eval-results/ folder and no <benchmark>/output*.jsonl files`);
    }
  }
  if (only && only.length > 0) dirs = dirs.filter((d) => only.includes(basename(d)));
  const benchmarks = dirs.sort().map(benchmarkOutputs);
  return { root, benchmarks };
}

/** One benchmark folder's outputs: greedy or per-seed, never both (as NeMo-Skills insists). */
export function benchmarkOutputs(dir: string): BenchmarkOutputs {
  const name = basename(dir);
  const names = readdirSync(dir);
  if (!names.some((n) => ANY_OUTPUT_RE.test(n)))
    throw new UsageError(`the benchmark folder ${dir} has no output*.jsonl files`);
  const seeds = names.filter((n) => SEED_OUTPUT_RE.test(n) && !n.includes("_chunk_")).sort();
  const greedy = existsSync(join(dir, "output.jsonl"));
  if (greedy && seeds.length > 0) {
    throw new UsageError(
      `both output.jsonl and output-rs*.jsonl are in ${dir}: it is not clear which run to summarize; move one away and run again`,
    );
  }
  if (!greedy && seeds.length === 0)
    throw new UsageError(`no output.jsonl or output-rs<seed>.jsonl in ${dir} (chunk files are not read)`);
  const files = greedy ? [join(dir, "output.jsonl")] : seeds.map((n) => join(dir, n));
  return { name, dir, files, greedy };
}

function hasOutputs(dir: string): boolean {
  try {
    return readdirSync(dir).some((n) => ANY_OUTPUT_RE.test(n));
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
