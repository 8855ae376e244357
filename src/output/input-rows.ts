import { UsageError } from "../errors.js";
import { type RowDigests, rowDigest } from "./row-digest.js";
import { isBlankLine, scanLineRanges, startsWithBom } from "./scan-lines.js";

export type InputRowsCheck = {
  /** Rows of the input within the row range (max_samples not applied). */
  rows: number;
  /** Of them, rows whose line starts at or after `sinceBytes` (appended since the earlier run). */
  appended: number;
  /**
   * Where the first row that is not done starts (every row before it is done): readRows can
   * start reading there instead of skipping a million done rows again.
   */
  resumeAt: RowStart;
};

/** A row's line in the input: its byte offset, 1-based line number and row index (readRows' counts). */
export type RowStart = { offset: number; lineNo: number; index: number };

export type InputRowsOptions = {
  /** Positions whose row the output holds, with their digests; only `done` ones are compared. */
  digests: RowDigests;
  done: ReadonlySet<number>;
  /** The output's file named in a refusal, e.g. `out.jsonl-async`. */
  outputFile: string;
  rowRange?: { start: number; end: number };
  /** The input's size when the earlier run started (appended rows start past it). */
  sinceBytes?: number | null;
  /** Flags that discard the output, for the refusal. */
  overrideFlags: string;
};

/**
 * Checks, before any request, that each done row of an output was made from the row now at
 * its position in the input (rows counted as readRows counts them: non-blank lines, within the
 * row range), by comparing digests. An edited, reordered or removed row is refused naming
 * its input line; rows appended after the earlier run's last one are counted, not refused.
 * One pass over the input, hashing only up to the last done row.
 */
export async function checkInputRows(inputFile: string, o: InputRowsOptions): Promise<InputRowsCheck> {
  let lineNo = 0;
  let index = -1;
  let rows = 0;
  let appended = 0;
  let mismatch: { line: number; position: number } | undefined;
  let resumeAt: RowStart | undefined;
  const last = o.digests.last;
  const since = o.sinceBytes ?? Infinity;
  const visit = (buf: Buffer, start: number, end: number, offset: number): void => {
    lineNo++;
    if (mismatch) return;
    if (lineNo === 1 && startsWithBom(buf, start, end)) start += 3;
    if (isBlankLine(buf, start, end)) return;
    index++;
    const range = o.rowRange;
    if (range && (index < range.start || index >= range.end)) return;
    const position = range ? index - range.start : index;
    rows++;
    if (offset >= since) appended++;
    const done = o.done.has(position);
    if (!done && !resumeAt) resumeAt = { offset, lineNo, index };
    if (position > last || !done) return;
    const want = o.digests.get(position);
    if (want >= 0 && rowDigest(buf, start, end) !== want) mismatch = { line: lineNo, position };
  };
  const { validBytes, tail } = await scanLineRanges(inputFile, visit);
  if (tail.length > 0) visit(tail, 0, tail.length, validBytes);
  resumeAt ??= { offset: validBytes + tail.length, lineNo: lineNo + 1, index: index + 1 };
  const hint = `Restore the input the earlier run read, or pass ${o.overrideFlags} to discard ${o.outputFile} and start over.`;
  if (mismatch) {
    throw new UsageError(
      `${inputFile} line ${mismatch.line} is not the row ${o.outputFile} holds for it (row ${mismatch.position + 1}${
        o.rowRange ? ` of the chunk` : ""
      }): the input was edited, reordered or had rows removed since that run, and resuming would mix rows of ` +
        `two inputs. ${hint}`,
    );
  }
  // A done position past the input's last row: rows were removed from its end.
  for (let p = rows; p <= last; p++) {
    if (!o.done.has(p) || o.digests.get(p) < 0) continue;
    throw new UsageError(
      `${inputFile} has ${rows} rows${o.rowRange ? " in the chunk" : ""}, ` +
        `but ${o.outputFile} holds row ${p + 1} of an ` +
        `earlier run: rows were removed from the input since. ${hint}`,
    );
  }
  return { rows, appended, resumeAt };
}
