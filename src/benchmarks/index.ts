import type { InferenceConfig } from "../config/generation-config.js";
import type { EvalType } from "./eval-types.js";

/**
 * A benchmark, declared in one place: where its prepared data lives, how it is prompted,
 * extracted and scored, and its defaults. Adding one is a small entry here (plus its prepare
 * code and prompt YAML).
 */
export type Benchmark = {
  name: string;
  /** Folder under --data_dir written by prepare_data. */
  dataFolder: string;
  /** The split file inside it. */
  split: string;
  promptConfig: string;
  evalType: EvalType;
  /** How `prepare_data` makes it: benchmark and config. */
  prepare: { benchmark: string; config: string };
  /** Inference defaults for this benchmark (the user's ++ overrides win). */
  inference?: Partial<InferenceConfig>;
};

export const BENCHMARKS = {
  "mmmu-pro": {
    name: "mmmu-pro",
    dataFolder: "mmmu-pro",
    split: "test.jsonl",
    promptConfig: "vlm/mmmu-pro",
    evalType: "multichoice",
    prepare: { benchmark: "mmmu-pro", config: "vision" },
  },
  "mmmu-pro-standard-10": {
    name: "mmmu-pro-standard-10",
    dataFolder: "mmmu-pro-standard-10",
    split: "test.jsonl",
    promptConfig: "vlm/mmmu-pro-standard",
    evalType: "multichoice",
    prepare: { benchmark: "mmmu-pro", config: "standard-10" },
  },
  "mmmu-pro-standard-4": {
    name: "mmmu-pro-standard-4",
    dataFolder: "mmmu-pro-standard-4",
    split: "test.jsonl",
    promptConfig: "vlm/mmmu-pro-standard",
    evalType: "multichoice",
    prepare: { benchmark: "mmmu-pro", config: "standard-4" },
  },
} as const satisfies Record<string, Benchmark>;

export type BenchmarkName = keyof typeof BENCHMARKS;

export function getBenchmark(name: string): Benchmark | undefined {
  return (BENCHMARKS as Record<string, Benchmark>)[name];
}
