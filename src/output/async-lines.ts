/**
 * Lines of `<output_file>-async` as we write them: the row's fields, what the run added, then
 * `error` (failed rows) and `_async_position` last, so resume can read a line's position and
 * status from its tail without parsing a 100 KB generation.
 */
export const POSITION_KEY = "_async_position";

const TAIL = Buffer.from(`,"${POSITION_KEY}":`);
const ERROR_MARK = Buffer.from(`"error":{"stage":`);

export function formatAsyncLine(
  row: Record<string, unknown>,
  out: Record<string, unknown>,
  index: number,
  error?: unknown,
): string {
  const obj: Record<string, unknown> = { ...row, ...out };
  delete obj.error;
  delete obj[POSITION_KEY];
  if (error !== undefined) obj.error = error;
  obj[POSITION_KEY] = index;
  return JSON.stringify(obj) + "\n";
}

export type LineInfo = { position: number; failed: boolean; bodyEnd: number };

/**
 * Position and status of one line; `bodyEnd` is where the `,"_async_position":N` tail starts
 * (the line without it, plus "}", is the final output line). null: not a line of ours,
 * or torn.
 */
export function readLineInfo(line: Buffer): LineInfo | null {
  const n = line.length;
  if (n < 4 || line[n - 1] !== 0x7d /* } */) return slowInfo(line);
  const at = line.lastIndexOf(TAIL);
  if (at < 0) return slowInfo(line);
  const digits = line.toString("latin1", at + TAIL.length, n - 1);
  if (!/^\d+$/.test(digits)) return slowInfo(line);
  // Our error objects start with "stage"; look only in the last part of the line where we put it.
  const from = Math.max(0, at - 4096);
  const errAt = line.indexOf(ERROR_MARK, from);
  return { position: Number(digits), failed: errAt >= 0 && errAt < at, bodyEnd: at };
}

/** Lines from other writers (e.g. NeMo-Skills) or odd key orders: parse the whole line. */
function slowInfo(line: Buffer): LineInfo | null {
  try {
    const j = JSON.parse(line.toString("utf8")) as Record<string, unknown>;
    if (typeof j !== "object" || j === null || typeof j[POSITION_KEY] !== "number") return null;
    return { position: j[POSITION_KEY] as number, failed: j.error != null, bodyEnd: -1 };
  } catch {
    return null;
  }
}

/** The final output line (no position key) for a line of the async file. */
export function finalLine(line: Buffer, info: LineInfo): Buffer {
  if (info.bodyEnd >= 0) {
    // `{...,"_async_position":N}` -> `{...}`; an empty row `{"_async_position":N}` never takes this path.
    return Buffer.concat([line.subarray(0, info.bodyEnd), CLOSE]);
  }
  const j = JSON.parse(line.toString("utf8")) as Record<string, unknown>;
  delete j[POSITION_KEY];
  return Buffer.from(JSON.stringify(j) + "\n");
}

const CLOSE = Buffer.from("}\n");
