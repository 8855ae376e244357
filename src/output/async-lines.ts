/**
 * Lines of `<output_file>-async` as we write them: the row's fields, what the run added, then
 * `error` (failed rows) and `_async_position` last, so resume can read a line's position and
 * status from its tail without parsing a 100 KB generation.
 */
export const POSITION_KEY = "_async_position";

const TAIL = Buffer.from(`,"${POSITION_KEY}":`);
const ERROR_MARK = Buffer.from(`"error":{"stage":`);

/** `text`: the row's JSON as read (see row-source.ts), written instead of serialising the row. */
export function formatAsyncLine(
  row: Record<string, unknown>,
  out: Record<string, unknown>,
  index: number,
  error?: unknown,
  text?: string,
): string {
  if (Number.isInteger(index)) {
    const line = joined(row, out, error, `"${POSITION_KEY}":${index}`, text);
    if (line !== undefined) return line;
  }
  const obj: Record<string, unknown> = { ...row, ...out };
  delete obj.error;
  delete obj[POSITION_KEY];
  if (error !== undefined) obj.error = error;
  obj[POSITION_KEY] = index;
  return JSON.stringify(obj) + "\n";
}

/** `{...row, ...out}`, then `error` when given, as one JSON line (`vlmpipe score`'s lines). */
export function formatLine(row: Record<string, unknown>, out: Record<string, unknown>, error?: unknown, text?: string): string {
  const line = joined(row, out, error, "", text);
  if (line !== undefined) return line;
  const obj: Record<string, unknown> = { ...row, ...out };
  if (error !== undefined) obj.error = error;
  return JSON.stringify(obj) + "\n";
}

/**
 * The usual line, without building the merged object (spreading two objects into a third
 * cost more than serialising them, ~2/3 of the formatting in profiles): the row's JSON (its
 * text as read when given), out's fields, the error, `tail`. undefined when the fields would
 * not come out as `{...row, ...out}` does.
 */
function joined(row: Record<string, unknown>, out: Record<string, unknown>, error: unknown, tail: string, text: string | undefined): string | undefined {
  if (!joinable(row, out)) return undefined;
  const a = text ?? JSON.stringify(row);
  const b = JSON.stringify(out);
  let line = a.length > 2 ? (b.length > 2 ? `${a.slice(0, -1)},${b.slice(1, -1)}` : a.slice(0, -1)) : b.slice(0, -1);
  if (error !== undefined) line += `${line.length > 1 ? "," : ""}"error":${JSON.stringify(error)}`;
  if (tail !== "") line += `${line.length > 1 ? "," : ""}${tail}`;
  return `${line}}\n`;
}

/**
 * Whether `{...row, ...out}` serialises as row's fields followed by out's: no key in both,
 * none to drop, no key that an object orders first (array indexes), no toJSON of its own.
 */
function joinable(row: Record<string, unknown>, out: Record<string, unknown>): boolean {
  if (Array.isArray(row) || Array.isArray(out)) return false;
  if (Object.hasOwn(row, "error") || Object.hasOwn(row, POSITION_KEY) || typeof row.toJSON === "function") return false;
  if (typeof out.toJSON === "function") return false;
  for (const k in out) {
    const c = k.charCodeAt(0);
    if ((c >= 0x30 && c <= 0x39) || k === "error" || k === POSITION_KEY || Object.hasOwn(row, k)) return false;
  }
  return true;
}

export type LineInfo = { position: number; failed: boolean; bodyEnd: number };

/**
 * Position and status of one line; `bodyEnd` is where the `,"_async_position":N` tail starts
 * (the line without it, plus "}", is the final output line). null: not a line of ours,
 * or torn.
 */
export function readLineInfo(line: Buffer): LineInfo | null {
  return lineInfoAt(line, 0, line.length);
}

/**
 * readLineInfo for the line `buf[start, end)` (bodyEnd counted from `start`), reading bytes in
 * place: resume does this for every line of a partial file, so no Buffer or string is made
 * per line on the usual path.
 */
export function lineInfoAt(buf: Buffer, start: number, end: number): LineInfo | null {
  if (end - start < 4 || buf[end - 1] !== 0x7d /* } */) return slowInfo(buf.subarray(start, end));
  // The digits of N, read backwards from the closing brace; then the tail must precede them.
  let i = end - 2;
  let position = 0;
  for (let scale = 1; i >= start && buf[i]! >= 0x30 && buf[i]! <= 0x39; i--, scale *= 10) position += (buf[i]! - 0x30) * scale;
  const digits = end - 2 - i;
  const at = i + 1 - TAIL.length;
  // (More than 15 digits would lose precision here: such lines take the slow path.)
  if (digits === 0 || digits > 15 || at < start || !tailAt(buf, at)) return slowInfo(buf.subarray(start, end));
  // Our error object is the last field before the tail, so a failed line has "}" just before
  // it: most lines are settled by that one byte instead of a search through the line (resume
  // reads a million of them). Otherwise the object starts with "stage"; look for it only in
  // the last part of the line, where we put it.
  if (buf[at - 1] !== 0x7d /* } */) return { position, failed: false, bodyEnd: at - start };
  const errAt = buf.subarray(Math.max(start, at - 4096), at).indexOf(ERROR_MARK);
  return { position, failed: errAt >= 0, bodyEnd: at - start };
}

/**
 * Whether TAIL is at `buf[at]`, byte by byte: Buffer#compare with offsets validates each of
 * them in JS first, which cost more than the comparison (a tenth of a million-line resume).
 */
function tailAt(buf: Buffer, at: number): boolean {
  for (let k = 0; k < TAIL.length; k++) if (buf[at + k] !== TAIL[k]) return false;
  return true;
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

/**
 * The final output line (no position key) for a line of the async file, in one or two parts
 * that the caller copies out: in the usual case they are a view of `line` and a constant, so
 * putting a million lines in order allocates nothing per line.
 */
export function finalLineParts(line: Buffer, info: LineInfo): readonly Buffer[] {
  if (info.bodyEnd >= 0) {
    // `{...,"_async_position":N}` -> `{...}`; an empty row `{"_async_position":N}` never takes this path.
    return [line.subarray(0, info.bodyEnd), CLOSE];
  }
  const j = JSON.parse(line.toString("utf8")) as Record<string, unknown>;
  delete j[POSITION_KEY];
  return [Buffer.from(JSON.stringify(j) + "\n")];
}

const CLOSE = Buffer.from("}\n");
