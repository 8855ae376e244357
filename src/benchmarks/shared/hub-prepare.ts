/**
 * The engine under a benchmark's `prepare_data`: find a split's parquet shards in a hub dataset
 * repo by listing it (never by guessing names), download them resumably into the cache, read
 * them a row group at a time, and write `<data_dir>/<outDir>/<outFile>` plus its images. The
 * JSONL is renamed into place only once every row and image is written, so a killed run never
 * leaves a file that looks complete. A benchmark brings only its row formatting.
 */
import { mkdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { ErrorCodes, UsageError, VlmError } from "../../errors.js";
import { type HubConfig, hubConfigFromEnv, normalizeHubUrl } from "../../hub/config.js";
import { downloadHubFiles } from "../../hub/download-files.js";
import { type HubFile, listHubFiles } from "../../hub/list-files.js";
import { stderrLog } from "../../hub/progress.js";
import type { RetryOptions } from "../../hub/retry.js";
import { AtomicLineWriter, writeFileAtomic } from "./atomic-file.js";
import { readParquetRowGroups } from "./parquet-rows.js";

export type ImageOut = { relPath: string; bytes: Uint8Array };
/** One dataset row as a JSONL record, the images it refers to, and notes for the log. */
export type Formatted = { record: Record<string, unknown>; images: ImageOut[]; warnings?: string[] };

export const HubSourceSchema = z.strictObject({
  /** Parent of the benchmark folders (NeMo-Skills' --data_dir). */
  dataDir: z.string().min(1, "dataDir is required"),
  repo: z.string().regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, "repo must look like owner/name"),
  revision: z.string().min(1).default("main"),
  /** Where shards are downloaded; default <dataDir>/.hub-cache. Reruns reuse them. */
  cacheDir: z.string().min(1).optional(),
  /** Overrides HF_ENDPOINT. */
  hubUrl: z.string().optional(),
});

export type HubSourceOptions = z.input<typeof HubSourceSchema> & {
  /** Read for HF_ENDPOINT and HF_TOKEN; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Progress and notes, one line each; default stderr. */
  log?: (line: string) => void;
  progressIntervalMs?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
};

export type RowContext = {
  /** The repo folder of the row's shard (MMMU's subject). */
  folder: string;
  /** The row's position among the split's rows (all shards, in order). */
  position: number;
  /** "<shard> row <n>", for messages. */
  where: string;
};

export type SplitJob = {
  /** Log prefix, e.g. "mmmu validation". */
  label: string;
  /** Named after the prefix in the summary line ("[mmmu-pro] vision: 60 rows, ..."), when the label is shared. */
  name?: string;
  /** Repo folders whose shards are read, in this order ("" = the repo root). */
  folders: readonly string[];
  /** The shards' split name: `<split>-00000-of-00002[-<hash>].parquet`. */
  split: string;
  columns: readonly string[];
  optionalColumns?: readonly string[];
  /** <dataDir>/<outDir>/<outFile> */
  outDir: string;
  outFile: string;
  /** What the summary line calls the rows `format` left out (default "rows skipped"). */
  skippedAs?: string;
  /** Row -> record and images; null leaves the row out (counted as skipped). */
  format: (row: Record<string, unknown>, ctx: RowContext) => Formatted | null;
};

export type PreparedSplit = {
  label: string;
  dir: string;
  jsonl: string;
  rows: number;
  images: number;
  skippedRows: number;
  shards: string[];
  warnings: string[];
};

/**
 * Prepares each job in turn. A job of one folder lists that folder alone; a job of several
 * (MMMU's 30 subjects) lists the repo once, recursively. Listings are shared between jobs.
 */
export async function prepareSplits(options: HubSourceOptions, jobs: readonly SplitJob[]): Promise<PreparedSplit[]> {
  const { env, log = stderrLog, progressIntervalMs, retry, signal, ...data } = options;
  const parsed = HubSourceSchema.safeParse(data);
  if (!parsed.success) throw new UsageError(`prepare: ${z.prettifyError(parsed.error)}`);
  const opts = parsed.data;
  const fromEnv = hubConfigFromEnv(env ?? process.env);
  const hub: HubConfig = opts.hubUrl ? { ...fromEnv, hubUrl: normalizeHubUrl(opts.hubUrl) } : fromEnv;
  const cacheDir = opts.cacheDir ?? join(opts.dataDir, ".hub-cache");
  const common = { repo: opts.repo, revision: opts.revision, hub, retry, log, signal };
  const listings = new Map<string, Promise<HubFile[]>>();
  const listing = (folder: string | undefined): Promise<HubFile[]> => {
    const key = folder ?? "\0whole repo";
    let l = listings.get(key);
    if (!l) {
      l = listHubFiles(folder === undefined ? { ...common, recursive: true } : { ...common, path: folder });
      listings.set(key, l);
    }
    return l;
  };
  const out: PreparedSplit[] = [];
  for (const job of jobs) {
    const files = await listing(job.folders.length === 1 ? job.folders[0] : undefined);
    const shards = job.folders.flatMap((folder) => findShards(files, folder, job.split, opts.repo, opts.revision));
    const local = await downloadHubFiles({ ...common, files: shards, cacheDir, progressIntervalMs });
    out.push(await writeSplit(job, local, opts.dataDir, log, signal));
  }
  return out;
}

async function writeSplit(
  job: SplitJob,
  local: { path: string; file: HubFile }[],
  dataDir: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<PreparedSplit> {
  const dir = join(dataDir, job.outDir);
  const jsonl = join(dir, job.outFile);
  await mkdir(join(dir, "images"), { recursive: true });
  const result: PreparedSplit = {
    label: job.label,
    dir,
    jsonl,
    rows: 0,
    images: 0,
    skippedRows: 0,
    shards: local.map((l) => l.path),
    warnings: [],
  };
  const written = new Set<string>();
  const writer = new AtomicLineWriter(jsonl);
  let position = 0;
  try {
    for (const shard of local) {
      const folder = dirname(shard.file.path) === "." ? "" : dirname(shard.file.path);
      for await (const batch of readParquetRowGroups(shard.path, {
        columns: [...job.columns],
        optionalColumns: [...(job.optionalColumns ?? [])],
      })) {
        if (signal?.aborted) throw new VlmError(ErrorCodes.ABORTED, "prepare aborted");
        for (const [i, row] of batch.rows.entries()) {
          const where = `${shard.file.path} row ${batch.rowStart + i}`;
          const formatted = formatRow(job, row, { folder, position: position++, where });
          if (!formatted) {
            result.skippedRows++;
            continue;
          }
          // Images first: a line always points at a file that is there. Shared images once.
          for (const img of formatted.images) {
            if (written.has(img.relPath)) continue;
            await writeFileAtomic(join(dir, img.relPath), img.bytes);
            written.add(img.relPath);
            result.images++;
          }
          await writer.write(JSON.stringify(formatted.record));
          result.rows++;
          result.warnings.push(...(formatted.warnings ?? []));
        }
      }
    }
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  for (const w of result.warnings.slice(0, 5)) log(`[${job.label}] warning: ${w}`);
  if (result.warnings.length > 5) log(`[${job.label}] ... and ${result.warnings.length - 5} more warnings`);
  const skipped = result.skippedRows ? `, ${result.skippedRows} ${job.skippedAs ?? "rows skipped"}` : "";
  const name = job.name ? `${job.name}: ` : "";
  log(`[${job.label}] ${name}${result.rows} rows, ${result.images} images -> ${jsonl}${skipped}`);
  return result;
}

function formatRow(job: SplitJob, row: Record<string, unknown>, ctx: RowContext): Formatted | null {
  try {
    return job.format(row, ctx);
  } catch (e) {
    const why = e instanceof z.ZodError ? z.prettifyError(e) : (e as Error).message;
    throw new VlmError(ErrorCodes.DATA, `${ctx.where}: ${why}`, { cause: e });
  }
}

/** The split's shards directly in `folder`, from the listing; all of `-of-N` must be there. */
function findShards(
  listing: readonly HubFile[],
  folder: string,
  split: string,
  repo: string,
  revision: string,
): HubFile[] {
  const re = new RegExp(`^${escapeRe(split)}-(\\d{5})-of-(\\d{5})(?:-[0-9a-f]+)?\\.parquet$`);
  const inFolder = listing.filter((f) => (dirname(f.path) === "." ? "" : dirname(f.path)) === folder);
  const shards = inFolder.filter((f) => re.test(basename(f.path))).sort((a, b) => (a.path < b.path ? -1 : 1));
  const where = `${repo}/${folder}@${revision}`;
  if (shards.length === 0) {
    const seen = inFolder.map((f) => f.path).slice(0, 10);
    throw new VlmError(
      ErrorCodes.DATA,
      `no ${split}-NNNNN-of-NNNNN.parquet under ${where}` +
        (seen.length ? `; found ${seen.join(", ")}` : "; the folder is empty"),
    );
  }
  const declared = Number(re.exec(basename(shards[0]!.path))?.[2]);
  if (shards.length !== declared) {
    throw new VlmError(ErrorCodes.DATA, `${where} lists ${shards.length} of ${declared} ${split} shards`);
  }
  return shards;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A file name stem from an id; ids are like "validation_Art_Theory_12", but do not trust them. */
export function safeStem(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "_";
}
