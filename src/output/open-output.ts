import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { isRunError } from "./async-lines.js";
import { inflightPath } from "./inflight-log.js";
import { checkInputRows, type RowStart } from "./input-rows.js";
import {
  exists,
  type OutputPaths,
  outputPaths,
  readDigests,
  readPartial,
  removeOutputFiles,
  removeStaleTemporaries,
  reopenFinished,
} from "./partial-output.js";
import { PositionSet } from "./position-set.js";
import { checkSameRun, type RunSpec, readBindingSpec, readSpec, writeSpec } from "./run-spec.js";
import { scanLines } from "./scan-lines.js";

export type OutputIdentity = {
  outputFile: string;
  /** The settings of the run being asked for. */
  spec: RunSpec;
  /** A JSONL path whose rows are checked against the output's, or "-" (stdin: not checked). */
  inputFile: string;
  rowRange?: { start: number; end: number };
  /** NeMo-Skills' max_samples (0 or less: all): rows past it are not this run's. */
  maxSamples?: number;
  /** The flags a refusal names as the way to discard the output, e.g. "--overwrite". */
  overrideFlags?: string;
};

/**
 * Where an output stands against the run asked for, looked at without changing any file:
 * `absent` (nothing), `partial` (an async file to resume; its spec binds only once it holds a
 * row, so a run that wrote none does not bind the next), `complete`, `failed-rows` (finished,
 * some rows to retry), `grown` (finished, but the input has rows after its last). Refuses
 * (UsageError, exit 2) an output of other settings or of other input rows.
 */
export type OutputStanding = {
  state: "absent" | "partial" | "complete" | "failed-rows" | "grown";
  /** Rows the output holds (finished), or lines of the partial file. */
  rows: number;
  /** Input rows appended since the earlier run (new work), when known. */
  appended: number;
};

export async function inspectOutput(o: OutputIdentity): Promise<OutputStanding> {
  return (await look(o, outputPaths(o.outputFile), { keepTorn: true })).standing;
}

export type OpenedOutput = {
  paths: OutputPaths;
  /** The output is complete and matches: nothing to do. */
  complete: boolean;
  /** Positions with a finished, error-free line. */
  done: ReadonlySet<number>;
  /** Where the first row not done starts in the input (every row before it is done), when the input was checked. */
  resumeAt?: RowStart;
  /** The async file holds no line: every line of it will be this run's (InOrderCopy). */
  fresh: boolean;
  /** After the run: a run that wrote no row takes its spec and empty partial file away again. */
  close(): Promise<void>;
};

/**
 * Opens a file output for a run, before any request: `--overwrite` removes what was there;
 * otherwise an earlier run's output is resumed (partial), reopened (failed rows, or rows
 * appended to the input) or found complete, once its settings and its done rows' input
 * digests prove it is this run's; any difference is refused (see inspectOutput). The run's
 * spec is written beside the output.
 */
export async function openOutput(
  o: OutputIdentity & { overwrite?: boolean; log: (line: string) => void },
): Promise<OpenedOutput> {
  const paths = outputPaths(o.outputFile);
  await mkdir(path.dirname(path.resolve(o.outputFile)), { recursive: true });
  if (o.overwrite) await removeOutputFiles(paths);
  await removeStaleTemporaries(paths);
  const { standing, partial, resumeAt } = await look(o, paths, { keepTorn: false });
  const close = async () => {
    if ((await exists(paths.output)) || (await sizeOf(paths.async)) > 0) return;
    await Promise.all([paths.spec, paths.async].map((f) => rm(f, { force: true })));
  };
  const appended =
    standing.appended > 0 ? `; ${standing.appended} rows appended to ${o.inputFile} since are done too` : "";
  if (standing.state === "complete") {
    // Saved text of rows in flight is no use to a finished output whose rows all succeeded (a
    // run killed after its `.done` may have left it): nothing would ever open it again.
    await rm(inflightPath(o.outputFile), { force: true });
    const flags = o.overrideFlags ?? "--overwrite";
    o.log(`vlmpipe: ${o.outputFile} is already complete (delete it or pass ${flags} to redo it)`);
    return { paths, complete: true, done: new Set(), fresh: false, close: async () => undefined };
  }
  let state = partial;
  if (standing.state === "failed-rows" || standing.state === "grown") {
    await reopenFinished(paths, standing.state === "grown");
    const why = standing.state === "grown" ? `${o.inputFile} has rows after its last` : "it has failed rows";
    const what = standing.state === "grown" ? "doing them" : "trying them again";
    o.log(`vlmpipe: ${o.outputFile} is finished but ${why}: ${what}`);
    state = await readPartial(paths.async);
  } else if (state && state.lines > 0) {
    o.log(
      `vlmpipe: resuming ${paths.async}: ${state.done.size} rows done, ${state.failed.size} to retry` +
        (state.tornBytes ? `, dropped a torn last line (${state.tornBytes} bytes)` : "") +
        appended,
    );
  }
  const prev = standing.rows > 0 ? await readSpec(paths.spec) : null;
  await writeSpec(paths.spec, {
    ...o.spec,
    created: prev?.created ?? o.spec.created,
    input_bytes: o.spec.input_bytes ?? prev?.input_bytes ?? null,
  });
  const fresh = (state?.lines ?? 0) === 0 && (await sizeOf(paths.async)) === 0;
  return { paths, complete: false, done: state?.done ?? new Set(), resumeAt, fresh, close };
}

/** inspectOutput's work; also hands over the partial file's state it read. */
async function look(
  o: OutputIdentity,
  paths: OutputPaths,
  how: { keepTorn: boolean },
): Promise<{ standing: OutputStanding; partial?: Awaited<ReturnType<typeof readPartial>>; resumeAt?: RowStart }> {
  const flags = o.overrideFlags ?? "--overwrite";
  const hasAsync = await exists(paths.async);
  const finished = !hasAsync && (await exists(paths.done)) && (await exists(paths.output));
  // (Read once: a million-line partial file is the bulk of a resume's start.)
  const partial = hasAsync ? await readPartial(paths.async, how.keepTorn) : undefined;
  // A spec binds only an output that holds a row: a run that stopped before its first row
  // (wrong model, no server) must not block its corrected rerun.
  if (!finished && !partial) return { standing: { state: "absent", rows: 0, appended: 0 } };
  const prev =
    finished || (partial && partial.lines > 0) ? await readBindingSpec(paths.spec, o.outputFile, flags) : null;
  if (prev) checkSameRun(prev, o.spec, o.outputFile, flags);
  const checkable = o.inputFile !== "-" && (await exists(o.inputFile));
  const max = o.maxSamples !== undefined && o.maxSamples > 0 ? o.maxSamples : Infinity;
  const capped = (rows: number) => Math.min(rows, max);
  if (partial) {
    let appended = 0;
    let resumeAt: RowStart | undefined;
    if (checkable) {
      const check = await checkInputRows(o.inputFile, {
        digests: partial.digests,
        done: partial.done,
        outputFile: paths.async,
        rowRange: o.rowRange,
        sinceBytes: prev?.input_bytes,
        overrideFlags: flags,
      });
      appended = capped(check.rows) - capped(check.rows - check.appended);
      resumeAt = check.resumeAt;
    }
    return { standing: { state: "partial", rows: partial.lines, appended }, partial, resumeAt };
  }
  // A finished output: its rows' digests are in <out>.row-digests, in output order.
  const { rows, failed } = await finishedRows(paths.output);
  let inputRows = rows;
  let resumeAt: RowStart | undefined;
  if (checkable) {
    const done = new PositionSet();
    for (let p = 0; p < rows; p++) if (!failed.has(p)) done.add(p);
    const check = await checkInputRows(o.inputFile, {
      digests: await readDigests(paths.digests),
      done,
      outputFile: paths.output,
      rowRange: o.rowRange,
      overrideFlags: flags,
    });
    inputRows = capped(check.rows);
    resumeAt = check.resumeAt;
  }
  const appended = Math.max(0, inputRows - rows);
  const state = appended > 0 ? "grown" : failed.size > 0 ? "failed-rows" : "complete";
  return { standing: { state, rows, appended }, resumeAt };
}

const ERROR_KEY = Buffer.from('"error":');

/** Lines of a finished output, and which of them are failed rows (a run's error record, isRunError). */
async function finishedRows(file: string): Promise<{ rows: number; failed: Set<number> }> {
  let rows = 0;
  const failed = new PositionSet();
  await scanLines(file, (line) => {
    const i = rows++;
    if (line.indexOf(ERROR_KEY) < 0) return;
    try {
      if (isRunError((JSON.parse(line.toString("utf8")) as Record<string, unknown>).error)) failed.add(i);
    } catch {
      // not a row of ours
    }
  });
  return { rows, failed };
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
