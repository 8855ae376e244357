import { prepareSplits } from "../shared/hub-prepare.js";
import type { Benchmark, Preparer } from "../types.js";
import { CHARTQA_COLUMNS, formatChartQaRow } from "./rows.js";

/** ChartQA test: 2,500 questions, human and augmented (1,250 each), relaxed accuracy. */
export const chartqa: Benchmark = {
  name: "chartqa",
  dataFolder: "chartqa",
  split: "test.jsonl",
  promptConfig: "vlm/chartqa",
  evalType: "relaxed-accuracy",
  prepare: { benchmark: "chartqa", config: "test" },
};

export const chartqaPreparer: Preparer = {
  name: "chartqa",
  configs: ["test", "val"],
  repo: "HuggingFaceM4/ChartQA",
  describe: "test|val -> chartqa/<split>.jsonl",
  prepare: ({ config, ...source }) =>
    prepareSplits(source, [
      {
        label: `chartqa ${config}`,
        folders: ["data"],
        split: config,
        columns: CHARTQA_COLUMNS,
        outDir: "chartqa",
        outFile: `${config}.jsonl`,
        format: (row, ctx) => formatChartQaRow(row, config, ctx.position),
        skippedAs: "rows without an image skipped",
      },
    ]),
};
