/**
 * Rows of a local parquet file, one row group at a time. A shard of MMMU-Pro is hundreds of
 * MB of embedded images; reading a row group (about 100 rows in files written by HF
 * `datasets`) bounds memory by the row group, not the shard.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { ErrorCodes, VlmError } from "../../errors.js";

export type RowGroupBatch = {
  /** Index of the first row of this batch in the file. */
  rowStart: number;
  rows: Record<string, unknown>[];
};

export type ReadRowGroupsOptions = {
  /** Columns to read; every one must exist. */
  columns: string[];
  /** Columns read when present and skipped when not (fields added in later revisions). */
  optionalColumns?: string[];
};

export async function* readParquetRowGroups(path: string, opts: ReadRowGroupsOptions): AsyncGenerator<RowGroupBatch> {
  const file = await asyncBufferFromFile(path);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new VlmError(
      ErrorCodes.DATA,
      `${path}: not a readable parquet file (${(e as Error).message}); delete it to download it again`,
      { cause: e },
    );
  }
  const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const missing = opts.columns.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new VlmError(
      ErrorCodes.DATA,
      `${path}: missing column(s) ${missing.join(", ")}; the file has ${[...present].join(", ")}`,
    );
  }
  const columns = [...opts.columns, ...(opts.optionalColumns ?? []).filter((c) => present.has(c))];
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({
      file,
      metadata,
      columns,
      rowStart,
      rowEnd,
      // Without this hyparquet decodes every unannotated BYTE_ARRAY as UTF-8, images
      // included; string columns carry the STRING annotation and are decoded regardless.
      utf8: false,
    });
    yield { rowStart, rows };
    rowStart = rowEnd;
  }
}
