import { prepareSplits } from "../shared/hub-prepare.js";
import type { Benchmark, Preparer } from "../types.js";
import { DOCVQA_COLUMNS, DOCVQA_OPTIONAL_COLUMNS, formatDocVqaRow } from "./rows.js";

/** DocVQA validation: 5,349 questions on 1,286 document pages, ANLS. */
export const docvqa: Benchmark = {
  name: "docvqa",
  dataFolder: "docvqa",
  split: "validation.jsonl",
  promptConfig: "vlm/docvqa",
  evalType: "anls",
  prepare: { benchmark: "docvqa", config: "validation" },
};

export const docvqaPreparer: Preparer = {
  name: "docvqa",
  configs: ["validation", "test"],
  repo: "lmms-lab/DocVQA",
  describe: "validation|test -> docvqa/<split>.jsonl",
  prepare: ({ config, ...source }) =>
    prepareSplits(source, [
      {
        label: `docvqa ${config}`,
        folders: ["DocVQA"],
        split: config,
        columns: DOCVQA_COLUMNS,
        optionalColumns: DOCVQA_OPTIONAL_COLUMNS,
        outDir: "docvqa",
        outFile: `${config}.jsonl`,
        format: (row) => formatDocVqaRow(row),
        skippedAs: "rows without an image skipped",
      },
    ]),
};
