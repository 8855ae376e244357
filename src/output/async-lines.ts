import { digestAt, digestHex } from "./row-digest.js";

/**
 * Lines of `<output_file>-async` as we write them: the row's fields, what the run added, then
 * `error` (failed rows), `_row_digest` (the input row's identity, see row-digest.ts) and
 * `_async_position` last, so resume can read a line's position, status and row digest from
 * its tail without parsing a 100 KB generation.
 */
export const POSITION_KEY = "_async_position";
export const DIGEST_KEY = "_row_digest";

const TAIL = Buffer.from(`,"${POSITION_KEY}":`);
const DIGEST_TAIL = Buffer.from(`,"${DIGEST_KEY}":"`);
const DIGEST_MARK = DIGEST_TAIL.subarray(1);
/** `,"_row_digest":"hhhhhhhh"`: a fixed length, found by its place before TAIL. */
const DIGEST_PART = DIGEST_TAIL.length + 9;
/** How a run's error record starts (withError: a stage name, then a code; isRunError). */
const ERROR_MARK = Buffer.from(`"error":{"stage":"`);
const CODE_MARK = Buffer.from(`","code":"`);

/**
 * `text`: the row's JSON as read (see row-source.ts), written instead of serialising the row.
 * `digest`: the input row's digest (rowDigest), for resume to check the input against.
 */
export function formatAsyncLine(
  row: Record<string, unknown>,
  out: Record<string, unknown>,
  index: number,
  error?: unknown,
  text?: string,
  digest?: number,
): string {
  const withDigest = digest !== undefined && digest >= 0;
  if (Number.isInteger(index)) {
    const position = `"${POSITION_KEY}":${index}`;
    const tail = withDigest ? `"${DIGEST_KEY}":"${digestHex(digest)}",${position}` : position;
    const line = joined(row, out, error, tail, text);
    if (line !== undefined) return line;
  }
  const obj: Record<string, unknown> = { ...row, ...out };
  delete obj[DIGEST_KEY];
  delete obj[POSITION_KEY];
  // Our error goes last (resume finds it there); a row's own `error` field is data and stays.
  if (error !== undefined) {
    delete obj.error;
    obj.error = error;
  }
  if (withDigest) obj[DIGEST_KEY] = digestHex(digest);
  obj[POSITION_KEY] = index;
  return JSON.stringify(obj) + "\n";
}

/** `{...row, ...out}`, then `error` when given, as one JSON line (`vlmpipe score`'s lines). */
export function formatLine(
  row: Record<string, unknown>,
  out: Record<string, unknown>,
  error?: unknown,
  text?: string,
): string {
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
function joined(
  row: Record<string, unknown>,
  out: Record<string, unknown>,
  error: unknown,
  tail: string,
  text: string | undefined,
): string | undefined {
  if (!joinable(row, out, error !== undefined)) return undefined;
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
 * A row's own `error` field is data and stays where it is, unless the run's error replaces it.
 */
function joinable(row: Record<string, unknown>, out: Record<string, unknown>, runError: boolean): boolean {
  if (Array.isArray(row) || Array.isArray(out)) return false;
  if (runError && Object.hasOwn(row, "error")) return false;
  if (Object.hasOwn(row, POSITION_KEY) || Object.hasOwn(row, DIGEST_KEY)) return false;
  if (typeof row.toJSON === "function" || typeof out.toJSON === "function") return false;
  for (const k in out) {
    const c = k.charCodeAt(0);
    if ((c >= 0x30 && c <= 0x39) || k === "error" || k === POSITION_KEY || k === DIGEST_KEY) return false;
    if (Object.hasOwn(row, k)) return false;
  }
  return true;
}

/** `digest`: the input row's (-1: the line has none, e.g. written by an earlier version). */
export type LineInfo = { position: number; failed: boolean; bodyEnd: number; digest: number };

/**
 * Position, status and row digest of one line; `bodyEnd` is where the `,"_row_digest":...`
 * and `,"_async_position":N` tail starts (the line without it, plus "}", is the final output
 * line). null: not a line of ours, or torn.
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
  for (let scale = 1; i >= start && buf[i]! >= 0x30 && buf[i]! <= 0x39; i--, scale *= 10)
    position += (buf[i]! - 0x30) * scale;
  const digits = end - 2 - i;
  const at = i + 1 - TAIL.length;
  // (More than 15 digits would lose precision here: such lines take the slow path.)
  if (digits === 0 || digits > 15 || at < start || !bytesAt(buf, at, TAIL)) return slowInfo(buf.subarray(start, end));
  // The row digest, when there is one, sits just before the position.
  let body = at;
  let digest = -1;
  const d = at - DIGEST_PART;
  if (d + 1 >= start && buf[at - 1] === 0x22 /* " */ && bytesAt(buf, d + 1, DIGEST_MARK)) {
    // (An empty row's line starts with the digest, no comma before it: parsed whole.)
    if (d < start || buf[d] !== 0x2c /* , */) return slowInfo(buf.subarray(start, end));
    digest = digestAt(buf, d + DIGEST_TAIL.length);
    if (digest >= 0) body = d;
  }
  // Our error object is the last field before the tail, so a failed line has "}" just before
  // it: most lines are settled by that one byte instead of a search through the line (resume
  // reads a million of them). Otherwise the object starts with "stage"; look for it only in
  // the last part of the line, where we put it.
  if (buf[body - 1] !== 0x7d /* } */) return { position, failed: false, bodyEnd: body - start, digest };
  const from = Math.max(start, body - 4096);
  const errAt = buf.subarray(from, body).indexOf(ERROR_MARK);
  // The stage is a short name: its code follows within a few bytes.
  const failed =
    errAt >= 0 && buf.subarray(from + errAt + ERROR_MARK.length, from + errAt + 64).indexOf(CODE_MARK) >= 0;
  return { position, failed, bodyEnd: body - start, digest };
}

/**
 * Whether a line's `error` is a run's failure record (`{stage, code, message, ...}`, withError in
 * sample-error.ts) rather than a field of the input row, which is data as any other.
 */
export function isRunError(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const r = e as { stage?: unknown; code?: unknown };
  return typeof r.stage === "string" && typeof r.code === "string";
}

/**
 * Whether `bytes` are at `buf[at]`, byte by byte: Buffer#compare with offsets validates each
 * of them in JS first, which cost more than the comparison (a tenth of a million-line resume).
 */
function bytesAt(buf: Buffer, at: number, bytes: Buffer): boolean {
  for (let k = 0; k < bytes.length; k++) if (buf[at + k] !== bytes[k]) return false;
  return true;
}

/** Lines from other writers (e.g. NeMo-Skills) or odd key orders: parse the whole line. */
function slowInfo(line: Buffer): LineInfo | null {
  try {
    const j = JSON.parse(line.toString("utf8")) as Record<string, unknown>;
    if (typeof j !== "object" || j === null || typeof j[POSITION_KEY] !== "number") return null;
    const hex = j[DIGEST_KEY];
    const digest = typeof hex === "string" && hex.length === 8 ? digestAt(Buffer.from(hex), 0) : -1;
    return { position: j[POSITION_KEY] as number, failed: isRunError(j.error), bodyEnd: -1, digest };
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
  delete j[DIGEST_KEY];
  return [Buffer.from(JSON.stringify(j) + "\n")];
}

const CLOSE = Buffer.from("}\n");
