/**
 * `prepare_data mmmu`: the hub dataset MMMU/MMMU (one folder per subject, each with
 * dev / validation / test shards) -> <data_dir>/mmmu/<split>.jsonl + images/, every subject's
 * rows in one file, `subset_for_metrics` = the subject.
 */
import { type HubSourceOptions, type PreparedSplit, prepareSplits, safeStem } from "../shared/hub-prepare.js";
import { formatMmmuRow, MMMU_COLUMNS, MMMU_OPTIONAL_COLUMNS } from "./rows.js";
import { MMMU_SUBJECTS } from "./subjects.js";

export const MMMU_SPLITS = ["validation", "dev", "test"] as const;
export type MmmuSplit = (typeof MMMU_SPLITS)[number];

export async function prepareMmmu(
  options: HubSourceOptions & { split: MmmuSplit | "all"; subjects?: readonly string[] },
): Promise<PreparedSplit[]> {
  const { split, subjects = MMMU_SUBJECTS, ...source } = options;
  const splits = split === "all" ? MMMU_SPLITS : [split];
  return prepareSplits(
    source,
    splits.map((s) => {
      const seen = new Set<string>();
      return {
        label: `mmmu ${s}`,
        folders: subjects,
        split: s,
        columns: MMMU_COLUMNS,
        optionalColumns: MMMU_OPTIONAL_COLUMNS,
        outDir: "mmmu",
        outFile: `${s}.jsonl`,
        format: (row, ctx) => {
          const id = typeof row.id === "string" ? row.id : `${s}_${ctx.folder}_${ctx.position}`;
          let stem = safeStem(id);
          while (seen.has(stem)) stem = `${stem}_`; // two rows with one id keep their own images
          seen.add(stem);
          return formatMmmuRow(row, stem, ctx.folder);
        },
      };
    }),
  );
}
