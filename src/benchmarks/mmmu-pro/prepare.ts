/**
 * `prepare_data mmmu-pro`: MMMU/MMMU_Pro from the hub -> NeMo-Skills-style data folders.
 *
 *   vision       repo `vision/`                -> <data_dir>/mmmu-pro/
 *   standard-10  repo `standard (10 options)/` -> <data_dir>/mmmu-pro-standard-10/
 *   standard-4   repo `standard (4 options)/`  -> <data_dir>/mmmu-pro-standard-4/
 *
 * each with test.jsonl and images/. Shards are found by listing the repo (never by name),
 * downloaded resumably into <cache_dir>, read a row group at a time, and test.jsonl is
 * renamed into place only once every row and image is written.
 */
import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { ErrorCodes, UsageError, VlmError } from "../../errors.js";
import { type HubConfig, hubConfigFromEnv, normalizeHubUrl } from "../../hub/config.js";
import { downloadHubFiles } from "../../hub/download-files.js";
import { type HubFile, listHubFiles } from "../../hub/list-files.js";
import { stderrLog } from "../../hub/progress.js";
import type { RetryOptions } from "../../hub/retry.js";
import { AtomicLineWriter, writeFileAtomic } from "../shared/atomic-file.js";
import { readParquetRowGroups } from "../shared/parquet-rows.js";
import {
  type Formatted,
  formatStandardRow,
  formatVisionRow,
  STANDARD_COLUMNS,
  STANDARD_OPTIONAL_COLUMNS,
  safeStem,
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

export const PrepareMmmuProSchema = z.strictObject({
  /** Parent of the benchmark folders (NeMo-Skills' --data_dir). */
  dataDir: z.string().min(1, "dataDir is required"),
  config: z.enum([...MMMU_PRO_CONFIG_NAMES, "all"]).default("vision"),
  repo: z
    .string()
    .regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, "repo must look like owner/name")
    .default("MMMU/MMMU_Pro"),
  revision: z.string().min(1).default("main"),
  /** Where shards are downloaded; default <dataDir>/.hub-cache. Reruns reuse them. */
  cacheDir: z.string().min(1).optional(),
  /** Overrides HF_ENDPOINT. */
  hubUrl: z.string().optional(),
});

export type PrepareMmmuProOptions = z.input<typeof PrepareMmmuProSchema> & {
  /** Read for HF_ENDPOINT and HF_TOKEN; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Progress and notes, one line each; default stderr. */
  log?: (line: string) => void;
  progressIntervalMs?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
};

export type PreparedConfig = {
  config: MmmuProConfig;
  /** <dataDir>/<outDir> */
  dir: string;
  jsonl: string;
  rows: number;
  images: number;
  /** Rows left out (vision rows without an image, as NeMo-Skills does). */
  skippedRows: number;
  /** Local paths of the shards read. */
  shards: string[];
  warnings: string[];
};

export async function prepareMmmuPro(options: PrepareMmmuProOptions): Promise<PreparedConfig[]> {
  const { env, log = stderrLog, progressIntervalMs, retry, signal, ...data } = options;
  const parsed = PrepareMmmuProSchema.safeParse(data);
  if (!parsed.success) throw new UsageError(`prepare mmmu-pro: ${z.prettifyError(parsed.error)}`);
  const opts = parsed.data;
  const fromEnv = hubConfigFromEnv(env ?? process.env);
  const hub: HubConfig = opts.hubUrl ? { ...fromEnv, hubUrl: normalizeHubUrl(opts.hubUrl) } : fromEnv;
  const configs = opts.config === "all" ? MMMU_PRO_CONFIG_NAMES : [opts.config];
  const ctx: Ctx = {
    hub,
    repo: opts.repo,
    revision: opts.revision,
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir ?? join(opts.dataDir, ".hub-cache"),
    log,
    progressIntervalMs,
    retry,
    signal,
  };
  const out: PreparedConfig[] = [];
  for (const config of configs) out.push(await prepareConfig(config, ctx));
  return out;
}

type Ctx = {
  hub: HubConfig;
  repo: string;
  revision: string;
  dataDir: string;
  cacheDir: string;
  log: (line: string) => void;
  progressIntervalMs?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
};

async function prepareConfig(config: MmmuProConfig, ctx: Ctx): Promise<PreparedConfig> {
  const spec = MMMU_PRO_CONFIGS[config];
  const shards = await findShards(spec.repoPath, ctx);
  const local = await downloadHubFiles({
    repo: ctx.repo,
    revision: ctx.revision,
    files: shards,
    cacheDir: ctx.cacheDir,
    hub: ctx.hub,
    retry: ctx.retry,
    log: ctx.log,
    progressIntervalMs: ctx.progressIntervalMs,
    signal: ctx.signal,
  });

  const dir = join(ctx.dataDir, spec.outDir);
  const jsonl = join(dir, `${MMMU_PRO_SPLIT}.jsonl`);
  await mkdir(join(dir, "images"), { recursive: true });
  const writer = new AtomicLineWriter(jsonl);
  const result: PreparedConfig = {
    config,
    dir,
    jsonl,
    rows: 0,
    images: 0,
    skippedRows: 0,
    shards: local.map((l) => l.path),
    warnings: [],
  };
  const seen = new Set<string>();
  try {
    for (const shard of local) {
      for await (const batch of readParquetRowGroups(shard.path, {
        columns: spec.kind === "vision" ? VISION_COLUMNS : STANDARD_COLUMNS,
        optionalColumns: spec.kind === "vision" ? [] : STANDARD_OPTIONAL_COLUMNS,
      })) {
        if (ctx.signal?.aborted) throw new VlmError(ErrorCodes.ABORTED, "prepare aborted");
        for (const [i, row] of batch.rows.entries()) {
          const where = `${shard.file.path} row ${batch.rowStart + i}`;
          const formatted = formatRow(spec.kind, row, where, seen, result.warnings);
          if (!formatted) {
            result.skippedRows++;
            continue;
          }
          // Images first: a line in test.jsonl always points at a file that is there.
          for (const img of formatted.images) await writeFileAtomic(join(dir, img.relPath), img.bytes);
          await writer.write(JSON.stringify(formatted.record));
          result.rows++;
          result.images += formatted.images.length;
          result.warnings.push(...formatted.warnings);
        }
      }
    }
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  for (const w of result.warnings.slice(0, 5)) ctx.log(`[mmmu-pro] warning: ${w}`);
  if (result.warnings.length > 5) ctx.log(`[mmmu-pro] ... and ${result.warnings.length - 5} more warnings`);
  const skipped = result.skippedRows ? `, ${result.skippedRows} rows without an image skipped` : "";
  ctx.log(`[mmmu-pro] ${config}: ${result.rows} rows, ${result.images} images -> ${jsonl}${skipped}`);
  return result;
}

/** Row -> record, with a row's position in the message of any data error. */
function formatRow(
  kind: "vision" | "standard",
  row: Record<string, unknown>,
  where: string,
  seen: Set<string>,
  warnings: string[],
): Formatted | null {
  const id = typeof row.id === "string" ? row.id : "";
  const base = safeStem(id);
  let stem = base;
  // Two rows with one id would write over each other's images: keep both, say so.
  if (seen.has(stem)) {
    let k = 2;
    while (seen.has(`${base}__${k}`)) k++;
    stem = `${base}__${k}`;
    warnings.push(`${where}: duplicate id ${JSON.stringify(id)}, its images are named ${stem}*`);
  }
  seen.add(stem);
  try {
    return kind === "vision" ? formatVisionRow(row, stem) : formatStandardRow(row, stem);
  } catch (e) {
    const why = e instanceof z.ZodError ? z.prettifyError(e) : (e as Error).message;
    throw new VlmError(ErrorCodes.DATA, `${where}: ${why}`, { cause: e });
  }
}

const SHARD_RE = /^test-(\d{5})-of-(\d{5})\.parquet$/;

/** The test shards under `folder`, from the listing; all of `-of-N` must be there. */
async function findShards(folder: string, ctx: Ctx): Promise<HubFile[]> {
  const files = await listHubFiles({
    repo: ctx.repo,
    path: folder,
    revision: ctx.revision,
    hub: ctx.hub,
    retry: ctx.retry,
    log: ctx.log,
    signal: ctx.signal,
  });
  const shards = files.filter((f) => SHARD_RE.test(basename(f.path)));
  if (shards.length === 0) {
    const seen = files.map((f) => f.path).slice(0, 10);
    throw new VlmError(
      ErrorCodes.DATA,
      `no ${MMMU_PRO_SPLIT}-NNNNN-of-NNNNN.parquet under ${ctx.repo}/${folder}@${ctx.revision}` +
        (seen.length ? `; found ${seen.join(", ")}` : "; the folder is empty"),
    );
  }
  const declared = Number(SHARD_RE.exec(basename(shards[0]!.path))?.[2]);
  if (shards.length !== declared) {
    throw new VlmError(
      ErrorCodes.DATA,
      `${ctx.repo}/${folder}@${ctx.revision} lists ${shards.length} of ${declared} test shards`,
    );
  }
  return shards;
}
