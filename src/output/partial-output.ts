import { open, readdir, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { finalLine, type LineInfo, readLineInfo } from "./async-lines.js";
import { scanLines } from "./scan-lines.js";

export type OutputPaths = { output: string; async: string; done: string; spec: string };

/** NeMo-Skills' file names: `<out>-async` while running, `<out>` and `<out>.done` at the end. */
export function outputPaths(output: string): OutputPaths {
  return { output, async: `${output}-async`, done: `${output}.done`, spec: `${output}.spec.json` };
}

export type PartialState = {
  /** Positions with a finished, error-free line. */
  done: Set<number>;
  /** Positions whose latest line is an error (tried again on resume). */
  failed: Set<number>;
  lines: number;
  /** Bytes of a torn last line that were cut off. */
  tornBytes: number;
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
 * Reads `<out>-async` for resume: which positions are done, which failed. A torn last line
 * (a kill in the middle of a write) is cut off the file so that new lines start clean.
 */
export async function readPartial(asyncFile: string): Promise<PartialState> {
  const state: PartialState = { done: new Set(), failed: new Set(), lines: 0, tornBytes: 0 };
  if (!(await exists(asyncFile))) return state;
  const { validBytes, tail } = await scanLines(asyncFile, (line) => {
    const info = readLineInfo(line);
    if (!info) return; // a broken line mid-file can only come from an outside writer: ignore it
    state.lines++;
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
    await truncate(asyncFile, validBytes);
  }
  return state;
}

/** Temporary files of a finalize that was killed half-way: garbage, since the async file remains. */
export async function removeStaleTemporaries(paths: OutputPaths): Promise<void> {
  const dir = path.dirname(path.resolve(paths.output));
  const prefix = `${path.basename(paths.output)}.tmp-`;
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(path.join(dir, n), { force: true })));
}

/**
 * Puts the async file's lines back in input order into `<out>` (the last line of each position
 * wins: a retried row replaces its error), touches `<out>.done` and removes the async file.
 * Written to a temporary file and renamed, so a kill at any point leaves either the async file
 * to resume from or the complete output.
 */
export async function finalizeOutput(paths: OutputPaths): Promise<{ rows: number; failed: number }> {
  const index = new Map<number, { offset: number; length: number; info: LineInfo }>();
  await scanLines(paths.async, (line, offset) => {
    const info = readLineInfo(line);
    if (info) index.set(info.position, { offset, length: line.length, info });
  });
  const positions = [...index.keys()].sort((a, b) => a - b);
  const tmp = `${paths.output}.tmp-${process.pid}`;
  const src = await open(paths.async, "r");
  const dst = await open(tmp, "w");
  let failed = 0;
  try {
    const batch: Buffer[] = [];
    let batchBytes = 0;
    for (const p of positions) {
      const e = index.get(p) as { offset: number; length: number; info: LineInfo };
      if (e.info.failed) failed++;
      const buf = Buffer.allocUnsafe(e.length);
      await src.read(buf, 0, e.length, e.offset);
      const line = finalLine(buf, e.info);
      batch.push(line);
      batchBytes += line.length;
      if (batchBytes > 4 << 20) {
        await dst.write(Buffer.concat(batch));
        batch.length = 0;
        batchBytes = 0;
      }
    }
    if (batch.length) await dst.write(Buffer.concat(batch));
    await dst.sync();
  } finally {
    await src.close();
    await dst.close();
  }
  await rename(tmp, paths.output);
  await writeFile(paths.done, "");
  await rm(paths.async, { force: true });
  return { rows: positions.length, failed };
}

/**
 * A finished output with failed rows is turned back into an async file (positions = line
 * numbers) so a rerun retries just those rows. Returns false when there is nothing to redo.
 */
export async function reopenFinished(paths: OutputPaths): Promise<boolean> {
  let failedRows = 0;
  const lines: Buffer[] = [];
  await scanLines(paths.output, (line) => {
    lines.push(Buffer.from(line));
  });
  const dst = await open(`${paths.async}.tmp`, "w");
  try {
    for (let i = 0; i < lines.length; i++) {
      const j = JSON.parse((lines[i] as Buffer).toString("utf8")) as Record<string, unknown>;
      if (j.error != null) failedRows++;
      const { error, ...rest } = j;
      const obj: Record<string, unknown> = { ...rest };
      if (error != null) obj.error = error;
      obj._async_position = i;
      await dst.write(JSON.stringify(obj) + "\n");
    }
  } finally {
    await dst.close();
  }
  if (failedRows === 0) {
    await rm(`${paths.async}.tmp`, { force: true });
    return false;
  }
  await rename(`${paths.async}.tmp`, paths.async);
  await rm(paths.done, { force: true });
  return true;
}
