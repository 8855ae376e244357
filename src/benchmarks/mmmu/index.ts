import type { Benchmark, Preparer } from "../types.js";
import { MMMU_SPLITS, type MmmuSplit, prepareMmmu } from "./prepare.js";
import { disciplineOf } from "./subjects.js";

/** MMMU validation (900 questions, 30 subjects), scored with the authors' parser. */
export const mmmu: Benchmark = {
  name: "mmmu",
  dataFolder: "mmmu",
  split: "validation.jsonl",
  promptConfig: "vlm/mmmu",
  evalType: "mmmu-official",
  prepare: { benchmark: "mmmu", config: "validation" },
  // As the authors report: each subject, then each discipline over its subjects' questions.
  metricGroups: (subject) => {
    const d = disciplineOf(subject);
    return d === undefined ? [] : [d.replaceAll(" ", "_")];
  },
};

export const mmmuPreparer: Preparer = {
  name: "mmmu",
  configs: [...MMMU_SPLITS, "all"],
  repo: "MMMU/MMMU",
  describe: "validation|dev|test -> mmmu/<split>.jsonl, all: the three",
  prepare: ({ config, ...source }) => prepareMmmu({ ...source, split: config as MmmuSplit | "all" }),
};
