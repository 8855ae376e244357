import { open, readdir, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { DIGEST_KEY, finalLineParts, isRunError, lineInfoAt, POSITION_KEY } from "./async-lines.js";
import { ChunkWriter } from "./chunk-writer.js";
import type { InOrderCopy } from "./in-order-copy.js";
import { inflightPath } from "./inflight-log.js";
import { LineIndex } from "./line-index.js";
import { PositionSet } from "./position-set.js";
import { useRangesInOrder } from "./ranges-in-order.js";
import { digestAt, digestHex, RowDigests } from "./row-digest.js";
import { scanLineRanges, scanLines } from "./scan-lines.js";

export type OutputPaths = { output: string; async: string; done: string; spec: string; digests: string };

/**
 * NeMo-Skills' file names: `<out>-async` while running, `<out>` and `<out>.done` at the end;
 * ours beside them: the run's settings (`.spec.json`) and, for a finished output, its rows'
 * input digests, one per line in output order (`.row-digests`).
 */
export function outputPaths(output: string): OutputPaths {
  return {
    output,
    async: `${output}-async`,
    done: `${output}.done`,
    spec: `${output}.spec.json`,
    digests: `${output}.row-digests`,
  };
}

/**
 * Every file of an output (for --overwrite, reruns from scratch and merged chunks), its
 * in-flight answers included; the spec last (see removeOutputFiles).
 */
export function allOutputFiles(p: OutputPaths): string[] {
  return [p.async, p.done, p.output, p.digests, inflightPath(p.output), p.spec];
}

/**
 * Removes every file of an output, one after the other and the spec last: a kill in between
 * never leaves rows without the settings they were made with (rows with no spec beside them
 * are resumed without the settings check, as an output of an earlier version).
 */
export async function removeOutputFiles(p: OutputPaths): Promise<void> {
  for (const f of allOutputFiles(p)) await rm(f, { force: true });
}

export type PartialState = {
  /** Positions with a finished, error-free line. */
  done: Set<number>;
  /** Positions whose latest line is an error (tried again on resume). */
  failed: Set<number>;
  lines: number;
  /** Bytes of a torn last line that were cut off. */
  tornBytes: number;
  /** The input row digest of each position's latest line (lines of earlier versions have none). */
  digests: RowDigests;
};

export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads `<out>-async` for resume: which positions are done, which failed, and their rows'
 * digests. A torn last line (a kill in the middle of a write) is cut off the file so that new
 * lines start clean, unless `keepTorn` (a look that must not change the file).
 */
export async function readPartial(asyncFile: string, keepTorn = false): Promise<PartialState> {
  // Bitmaps, not hash sets: a million positions are added here and looked up for every row.
  const state: PartialState = {
    done: new PositionSet(),
    failed: new PositionSet(),
    lines: 0,
    tornBytes: 0,
    digests: new RowDigests(),
  };
  if (!(await exists(asyncFile))) return state;
  const { validBytes, tail } = await scanLineRanges(asyncFile, (buf, start, end) => {
    const info = lineInfoAt(buf, start, end);
    if (!info) return; // a broken line mid-file can only come from an outside writer: ignore it
    state.lines++;
    state.digests.set(info.position, info.digest);
    if (info.failed) {
      state.failed.add(info.position);
      state.done.delete(info.position);
    } else {
      state.done.add(info.position);
      state.failed.delete(info.position);
    }
  });
  if (tail.length > 0) {
    state.tornBytes = tail.length;
    if (!keepTorn) await truncate(asyncFile, validBytes);
  }
  return state;
}

/**
 * Temporary files of a finalize, merge, spec write, reopen or in-flight log compaction that was
 * killed half-way: garbage, since what they were to replace is still there.
 */
export async function removeStaleTemporaries(paths: OutputPaths): Promise<void> {
  const dir = path.dirname(path.resolve(paths.output));
  // The output's (a merge's too), the row digests' and the spec's, the partial file a finished
  // output is reopened into, the in-flight log's compaction (the run holding the lock is the
  // only writer: any left is garbage).
  const prefixes = [paths.output, paths.digests, paths.spec].map((f) => `${path.basename(f)}.tmp-`);
  const exact = new Set([`${paths.async}.tmp`, `${inflightPath(paths.output)}.tmp`].map((f) => path.basename(f)));
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const stale = names.filter((n) => exact.has(n) || prefixes.some((p) => n.startsWith(p)));
  await Promise.all(stale.map((n) => rm(path.join(dir, n), { force: true })));
}

/**
 * Puts the async file's lines back in input order into `<out>` (the last line of each position
 * wins: a retried row replaces its error), touches `<out>.done` and removes the async file.
 * When a row below the last one done has no line (`gapAt`), nothing is written or removed.
 * Written to a temporary file and renamed, so a kill at any point leaves either the async file
 * to resume from or the complete output. With `copy` (a fresh run's InOrderCopy) that file was
 * written during the run, and only put in place here when it holds every line.
 */
export async function finalizeOutput(
  paths: OutputPaths,
  copy?: InOrderCopy,
): Promise<{ rows: number; failed: number; gapAt?: number }> {
  // The run's in-order copy, when it covered every line: already the output (a rename, no pass).
  const copied = await copy?.finish();
  if (copied) {
    await writeFile(paths.done, "");
    await rm(paths.async, { force: true });
    return copied;
  }
  const index = new LineIndex();
  // Small buffers throughout: this runs at the very end of a run, on top of whatever the run
  // left on the heap, and larger buffers used to set the run's peak RSS.
  await scanLineRanges(
    paths.async,
    (buf, start, end, offset) => {
      const info = lineInfoAt(buf, start, end);
      if (info) index.set(info.position, offset, end - start, info);
    },
    FINALIZE_BUFFER_BYTES,
  );
  // Rows done past a gap (a run killed with rows in flight, then finished under a smaller
  // ++max_samples): the output would put later rows in the gap's lines. Left as it is.
  const gapAt = index.firstGap();
  if (gapAt !== undefined) return { rows: 0, failed: 0, gapAt };
  await writeDigests(paths, index);
  const tmp = `${paths.output}.tmp-${process.pid}`;
  const src = await open(paths.async, "r");
  const dst = await open(tmp, "w");
  let failed = 0;
  let rows = 0;
  try {
    const out = new ChunkWriter(dst, FINALIZE_BUFFER_BYTES);
    await useRangesInOrder(
      src,
      index.entries(),
      (line, e) => {
        rows++;
        if (e.info.failed) failed++;
        return putParts(out, finalLineParts(line, e.info));
      },
      { bufferBytes: FINALIZE_BUFFER_BYTES },
    );
    await out.flush();
    await dst.sync();
  } finally {
    await src.close();
    await dst.close();
  }
  await rename(tmp, paths.output);
  await writeFile(paths.done, "");
  await rm(paths.async, { force: true });
  return { rows, failed };
}

/**
 * `<out>.row-digests`: the digest of each output line's input row, in output order ("--------"
 * for a line without one), written before the output is renamed into place. None when no line has
 * a digest (an output of an earlier version).
 */
async function writeDigests(paths: OutputPaths, index: LineIndex): Promise<void> {
  // One buffer of 9 bytes a row, not a string per row: this runs at the very end of a run,
  // on top of its memory (a million strings joined raised finalize's peak RSS by ~90 MB).
  const buf = index.digestLines();
  if (!buf) {
    await rm(paths.digests, { force: true });
    return;
  }
  const tmp = `${paths.digests}.tmp-${process.pid}`;
  await writeFile(tmp, buf);
  await rename(tmp, paths.digests);
}

/** `<out>.row-digests` read back: line i's digest at position i. Empty when there is no file. */
export async function readDigests(file: string): Promise<RowDigests> {
  const digests = new RowDigests();
  if (!(await exists(file))) return digests;
  let i = 0;
  await scanLineRanges(file, (buf, start, end) => {
    digests.set(i++, end - start === 8 ? digestAt(buf, start) : -1);
  });
  return digests;
}

/** Puts the parts in order, waiting only when the writer has to write out first (seldom). */
function putParts(out: ChunkWriter, parts: readonly Buffer[]): Promise<void> | undefined {
  for (let i = 0; i < parts.length; i++) {
    const full = out.put(parts[i]!);
    if (full) return full.then(() => putParts(out, parts.slice(i + 1)));
  }
  return undefined;
}

/** Read, scan and write buffers of finalizeOutput: 1 MB reads cost a 700 MB file ~700 syscalls each way. */
const FINALIZE_BUFFER_BYTES = 1 << 20;

/**
 * A finished output with failed rows is turned back into an async file (positions = line
 * numbers, each line with its row digest from `<out>.row-digests`) so a rerun retries just
 * those rows, or, with `grown` (the input has rows after the output's last), does the new
 * rows. Returns false when there is nothing to redo.
 */
export async function reopenFinished(paths: OutputPaths, grown = false): Promise<boolean> {
  let failedRows = 0;
  const lines: Buffer[] = [];
  await scanLines(paths.output, (line) => {
    lines.push(Buffer.from(line));
  });
  const digests = await readDigests(paths.digests);
  const dst = await open(`${paths.async}.tmp`, "w");
  try {
    for (let i = 0; i < lines.length; i++) {
      const text = (lines[i] as Buffer).toString("utf8").trimEnd();
      const j = JSON.parse(text) as Record<string, unknown>;
      const ours = isRunError(j.error);
      if (ours) failedRows++;
      const d = digests.get(i);
      const tail = d >= 0 ? `"${DIGEST_KEY}":"${digestHex(d)}","${POSITION_KEY}":${i}` : `"${POSITION_KEY}":${i}`;
      // The line as it is, with the digest and position added before its last brace, when it
      // already reads as our lines do (neither key; a failure's error last, as resume looks for
      // it): the rows keep the formatting they were written with (see row-source.ts).
      const asIs =
        !Object.hasOwn(j, POSITION_KEY) &&
        !Object.hasOwn(j, DIGEST_KEY) &&
        text.endsWith("}") &&
        text.length > 2 &&
        (!ours || text.endsWith(`"error":${JSON.stringify(j.error)}}`));
      if (asIs) {
        await dst.write(`${text.slice(0, -1)},${tail}}\n`);
        continue;
      }
      const { [DIGEST_KEY]: _d, ...rest } = j;
      const obj: Record<string, unknown> = { ...rest };
      delete obj[POSITION_KEY];
      if (ours) {
        // Our error last, where resume looks for it (a row's own `error` stays where it is).
        delete obj.error;
        obj.error = j.error;
      }
      if (d >= 0) obj[DIGEST_KEY] = digestHex(d);
      obj[POSITION_KEY] = i;
      await dst.write(JSON.stringify(obj) + "\n");
    }
  } finally {
    await dst.close();
  }
  if (failedRows === 0 && !grown) {
    await rm(`${paths.async}.tmp`, { force: true });
    return false;
  }
  await rename(`${paths.async}.tmp`, paths.async);
  await rm(paths.done, { force: true });
  return true;
}
