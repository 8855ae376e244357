import { BENCHMARKS, type Benchmark, getBenchmark } from "../benchmarks/index.js";
import { UsageError } from "../errors.js";

export type BenchmarkRun = { benchmark: Benchmark; seeds: number[] | null };

/**
 * `--benchmarks mmmu-pro:4,mmmu-pro-standard-10`: a name, and `:N` for N sampled runs with
 * seeds 0..N-1 (NeMo-Skills' syntax); without `:N`, one greedy run.
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
      if (!Number.isInteger(k) || k < 1)
        throw new UsageError(`"${item}": the number of seeds after ":" must be a positive integer`);
      return { benchmark, seeds: Array.from({ length: k }, (_, i) => i) };
    });
  if (runs.length === 0) throw new UsageError("--benchmarks names no benchmark");
  return runs;
}

/** output.jsonl for a greedy run, output-rs<seed>.jsonl for a sampled one. */
export function outputName(seed: number | null): string {
  return seed === null ? "output.jsonl" : `output-rs${seed}.jsonl`;
}
