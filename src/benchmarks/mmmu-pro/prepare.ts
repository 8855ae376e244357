/**
 * `prepare_data mmmu-pro`: MMMU/MMMU_Pro from the hub -> NeMo-Skills-style data folders.
 *
 *   vision       repo `vision/`                -> <data_dir>/mmmu-pro/
 *   standard-10  repo `standard (10 options)/` -> <data_dir>/mmmu-pro-standard-10/
 *   standard-4   repo `standard (4 options)/`  -> <data_dir>/mmmu-pro-standard-4/
 *
 * each with test.jsonl and images/, through the shared hub engine (../shared/hub-prepare.ts:
 * shards found by listing, downloaded resumably, test.jsonl renamed into place once whole).
 */
import { z } from "zod";
import { UsageError } from "../../errors.js";
import {
  type HubSourceOptions,
  type PreparedSplit,
  prepareSplits,
  type SplitJob,
  safeStem,
} from "../shared/hub-prepare.js";
import {
  formatStandardRow,
  formatVisionRow,
  STANDARD_COLUMNS,
  STANDARD_OPTIONAL_COLUMNS,
  VISION_COLUMNS,
} from "./rows.js";

export const MMMU_PRO_CONFIGS = {
  vision: { repoPath: "vision", outDir: "mmmu-pro", kind: "vision" },
  "standard-10": { repoPath: "standard (10 options)", outDir: "mmmu-pro-standard-10", kind: "standard" },
  "standard-4": { repoPath: "standard (4 options)", outDir: "mmmu-pro-standard-4", kind: "standard" },
} as const;

export type MmmuProConfig = keyof typeof MMMU_PRO_CONFIGS;
export const MMMU_PRO_CONFIG_NAMES = Object.keys(MMMU_PRO_CONFIGS) as MmmuProConfig[];
export const MMMU_PRO_SPLIT = "test";

const ConfigSchema = z.enum([...MMMU_PRO_CONFIG_NAMES, "all"]).default("vision");

export type PrepareMmmuProOptions = Omit<HubSourceOptions, "repo"> & {
  config?: MmmuProConfig | "all";
  /** Default MMMU/MMMU_Pro. */
  repo?: string;
};

/** A prepared config; `skippedRows` are vision rows without an image (left out, as NeMo-Skills does). */
export type PreparedConfig = Omit<PreparedSplit, "label"> & { config: MmmuProConfig };

export async function prepareMmmuPro(options: PrepareMmmuProOptions): Promise<PreparedConfig[]> {
  const { config, repo = "MMMU/MMMU_Pro", ...source } = options;
  const parsed = ConfigSchema.safeParse(config);
  if (!parsed.success) throw new UsageError(`prepare mmmu-pro: ${z.prettifyError(parsed.error)}`);
  const configs = parsed.data === "all" ? MMMU_PRO_CONFIG_NAMES : [parsed.data];
  const prepared = await prepareSplits({ ...source, repo }, configs.map(splitJob));
  return prepared.map(({ label: _, ...r }, i) => ({ config: configs[i]!, ...r }));
}

function splitJob(config: MmmuProConfig): SplitJob {
  const spec = MMMU_PRO_CONFIGS[config];
  const vision = spec.kind === "vision";
  const seen = new Set<string>();
  return {
    label: "mmmu-pro",
    name: config,
    folders: [spec.repoPath],
    split: MMMU_PRO_SPLIT,
    columns: vision ? VISION_COLUMNS : STANDARD_COLUMNS,
    optionalColumns: vision ? [] : STANDARD_OPTIONAL_COLUMNS,
    outDir: spec.outDir,
    outFile: `${MMMU_PRO_SPLIT}.jsonl`,
    skippedAs: "rows without an image skipped",
    format: (row, ctx) => {
      const id = typeof row.id === "string" ? row.id : "";
      const base = safeStem(id);
      let stem = base;
      // Two rows with one id would write over each other's images: keep both, say so.
      let duplicate: string | undefined;
      if (seen.has(stem)) {
        let k = 2;
        while (seen.has(`${base}__${k}`)) k++;
        stem = `${base}__${k}`;
        duplicate = `${ctx.where}: duplicate id ${JSON.stringify(id)}, its images are named ${stem}*`;
      }
      seen.add(stem);
      const formatted = vision ? formatVisionRow(row, stem) : formatStandardRow(row, stem);
      if (formatted && duplicate) formatted.warnings.unshift(duplicate);
      return formatted;
    },
  };
}
