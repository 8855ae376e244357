import { BENCHMARKS, type Benchmark, getBenchmark } from "../benchmarks/index.js";
import { UsageError } from "../errors.js";

export type BenchmarkRun = { benchmark: Benchmark; seeds: number[] | null };

/**
 * `--benchmarks mmmu-pro:4,mmmu-pro-standard-10`: a name, and `:N` for N sampled runs with
 * seeds 0..N-1 (NeMo-Skills' syntax); without `:N`, or with `:0` (NeMo-Skills' way of asking for
 * greedy whatever the benchmark's default), one greedy run.
 */
export function parseBenchmarks(spec: string): BenchmarkRun[] {
  const runs = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [name, n, ...extra] = item.split(":");
      const benchmark = getBenchmark(name ?? "");
      if (!benchmark || extra.length) {
        throw new UsageError(
          `unknown benchmark "${item}"; known: ${Object.keys(BENCHMARKS).join(", ")} (add :N for N seeds)`,
        );
      }
      if (n === undefined) return { benchmark, seeds: null };
      const k = Number(n);
      if (!/^\d+$/.test(n.trim()))
        throw new UsageError(`"${item}": the number of seeds after ":" must be a whole number (0: one greedy run)`);
      if (k === 0) return { benchmark, seeds: null };
      return { benchmark, seeds: Array.from({ length: k }, (_, i) => i) };
    });
  if (runs.length === 0) throw new UsageError("--benchmarks names no benchmark");
  const seen = new Set<string>();
  for (const r of runs) {
    // As NeMo-Skills refuses it: two runs of one benchmark would write the same folder.
    if (seen.has(r.benchmark.name)) throw new UsageError(`--benchmarks names "${r.benchmark.name}" more than once`);
    seen.add(r.benchmark.name);
  }
  return runs;
}

/** output.jsonl for a greedy run, output-rs<seed>.jsonl for a sampled one. */
export function outputName(seed: number | null): string {
  return seed === null ? "output.jsonl" : `output-rs${seed}.jsonl`;
}
