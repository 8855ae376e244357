import { isRunError } from "../output/async-lines.js";
import { exists, outputPaths } from "../output/partial-output.js";
import { readSpec } from "../output/run-spec.js";
import { scanLines } from "../output/scan-lines.js";

/**
 * Where one output file stands, for planning: `complete` (done, every row fine) is skipped,
 * `failed-rows` (done, some rows carry `error`) and `partial` (an -async file to resume) need
 * a job, `absent` needs one from scratch.
 */
export type OutputState = "absent" | "partial" | "complete" | "failed-rows";

export async function outputState(file: string): Promise<OutputState> {
  const p = outputPaths(file);
  if (await exists(p.async)) return "partial";
  if ((await exists(p.done)) && (await exists(p.output)))
    return (await countFailedRows(p.output)) > 0 ? "failed-rows" : "complete";
  return "absent";
}

const ERROR_KEY = Buffer.from('"error":');

/** Lines of a finished output whose row failed (a run's error record, isRunError). */
export async function countFailedRows(file: string): Promise<number> {
  if (!(await exists(file))) return 0;
  let failed = 0;
  await scanLines(file, (line) => {
    if (line.indexOf(ERROR_KEY) < 0) return;
    try {
      const j = JSON.parse(line.toString("utf8")) as Record<string, unknown>;
      if (isRunError(j.error)) failed++;
    } catch {
      // not a row of ours
    }
  });
  return failed;
}

/** The row range a chunk output was written for (from its run spec), if any. */
export async function specRowRange(file: string): Promise<[number, number] | null> {
  const spec = await readSpec(outputPaths(file).spec);
  const r = (spec?.generation as { row_range?: unknown } | undefined)?.row_range;
  return Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === "number")
    ? [r[0] as number, r[1] as number]
    : null;
}
