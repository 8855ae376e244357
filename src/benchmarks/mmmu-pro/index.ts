import type { Benchmark, Preparer } from "../types.js";
import { type MmmuProConfig, prepareMmmuPro } from "./prepare.js";

const common = { split: "test.jsonl", evalType: "multichoice" } as const;

export const mmmuPro: Benchmark = {
  ...common,
  name: "mmmu-pro",
  dataFolder: "mmmu-pro",
  promptConfig: "vlm/mmmu-pro",
  prepare: { benchmark: "mmmu-pro", config: "vision" },
};

export const mmmuProStandard10: Benchmark = {
  ...common,
  name: "mmmu-pro-standard-10",
  dataFolder: "mmmu-pro-standard-10",
  promptConfig: "vlm/mmmu-pro-standard",
  prepare: { benchmark: "mmmu-pro", config: "standard-10" },
};

export const mmmuProStandard4: Benchmark = {
  ...common,
  name: "mmmu-pro-standard-4",
  dataFolder: "mmmu-pro-standard-4",
  promptConfig: "vlm/mmmu-pro-standard",
  prepare: { benchmark: "mmmu-pro", config: "standard-4" },
};

export const mmmuProPreparer: Preparer = {
  name: "mmmu-pro",
  configs: ["vision", "standard-10", "standard-4", "all"],
  repo: "MMMU/MMMU_Pro",
  describe: "vision -> mmmu-pro/, standard-N -> mmmu-pro-standard-N/, all: the three",
  prepare: ({ config, ...source }) => prepareMmmuPro({ ...source, config: config as MmmuProConfig | "all" }),
};
