import { isUtf8 } from "node:buffer";
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { Observable } from "rxjs";
import { type ErrorCode, ErrorCodes, UsageError } from "../errors.js";
import { rowDigest } from "../output/row-digest.js";
import { rowSource } from "../output/row-source.js";
import { isBlankLine, startsWithBom } from "../output/scan-lines.js";
import type { Sample } from "../types.js";
import type { Flow } from "./flow.js";

export type ReadRowsOptions = {
  /** Pull rows only as permits free up (see Flow). Without it, rows are read as fast as they come. */
  flow?: Flow;
  /** Rows to leave out before they take a permit (resume: indexes already done). */
  skip?: (index: number) => boolean;
  /** Stop after this many rows (NeMo-Skills' max_samples: 0 or less, or undefined: all). */
  maxSamples?: number;
  /** When aborted, no further rows are read and the stream completes (graceful Ctrl-C). */
  stop?: AbortSignal;
  /**
   * Only the rows [start, end) of the input (a chunk of it, counted like `index`). Their
   * Samples are indexed from 0 within the range, so a chunk's output and resume state are those
   * of a file holding just these rows; error messages keep the input's line numbers.
   */
  rowRange?: { start: number; end: number };
  /**
   * Keep each row's line on its Sample (`source`) for writeOutput to repeat: the input's fields
   * then come out as they were written, and a line costs less to write. Off by default: each
   * row in flight then holds its line too (a chain that replaces rows never uses it).
   */
  keepSource?: boolean;
  /**
   * Start reading at this row of the input (a path): its byte offset, line number and row
   * index, as a resume's check of the input found them (every row before it is done), instead
   * of skipping the done rows again.
   */
  from?: { offset: number; lineNo: number; index: number };
  /** Set each Sample's `digest` (rowDigest of its line): resume checks done rows against it. */
  digests?: boolean;
};

/**
 * Reads JSONL (a path, "-" for stdin, or any Readable) into Samples, one per non-blank line,
 * `index` counting rows from 0. A UTF-8 BOM and CRLF line ends are accepted, and the bare `NaN`,
 * `Infinity` and `-Infinity` Python's json.loads reads (NeMo-Skills reads rows with it). A line that is not
 * valid UTF-8, not JSON, or not a JSON object becomes a Sample with `error` (VLM_E_ENCODING,
 * VLM_E_BAD_JSON, VLM_E_NOT_AN_OBJECT) naming its line number, and reading goes on. A UTF-16
 * file is refused at its first line (the stream errors): it needs converting, not skipping.
 *
 *   readRows("data.jsonl").pipe(renderPrompt(cfg), ...)
 */
export function readRows(input: string | Readable, opts: ReadRowsOptions = {}): Observable<Sample> {
  return new Observable<Sample>((subscriber) => {
    // 1 MB reads: a million-row input is read in a few hundred chunks, not thousands.
    const from = typeof input === "string" && input !== "-" ? opts.from : undefined;
    const stream: Readable =
      typeof input === "string"
        ? input === "-"
          ? process.stdin
          : createReadStream(input, { highWaterMark: 1 << 20, start: from?.offset ?? 0 })
        : input;
    let stopped = false;

    (async () => {
      let lineNo = from ? from.lineNo - 1 : 0;
      let index = from ? from.index - 1 : -1;
      const max = opts.maxSamples !== undefined && opts.maxSamples > 0 ? opts.maxSamples : Infinity;
      const keep = opts.keepSource === true;
      // Lines come a chunk at a time and are walked without an await per line (one only when
      // the flow makes a row wait): skipping a million done rows on resume is then a loop,
      // not a million promise round-trips.
      // A stop ends a wait for more input too (stdin from a producer that keeps it open).
      const batches = lineBatches(stream)[Symbol.asyncIterator]();
      const stop = opts.stop;
      reading: for (;;) {
        const next = stop ? await orStop(batches.next(), stop) : await batches.next();
        if (next === STOPPED) {
          void batches.return?.(undefined);
          break;
        }
        if (next.done) break;
        const { buf, bounds } = next.value;
        // One UTF-8 check for all the lines of a read (lines end at a byte no multi-byte
        // character contains, so they are then valid one by one) instead of one per line.
        // Checked at the first line that is read (resume skips most lines without reading them).
        let utf8Ok: boolean | undefined;
        for (let k = 0; k < bounds.length; k += 2) {
          lineNo++;
          let start = bounds[k]!;
          const end = bounds[k + 1]!;
          if (lineNo === 1) start += firstLineSkip(buf.subarray(start, end), input);
          if (isBlankLine(buf, start, end)) continue;
          index++;
          if (index >= max) break reading;
          const range = opts.rowRange;
          if (range && index < range.start) continue;
          if (range && index >= range.end) break reading;
          const position = range ? index - range.start : index;
          if (opts.skip?.(position)) continue;
          if (opts.stop?.aborted) break reading;
          const wait = opts.flow?.acquire();
          // A stop ends the wait at once: rows holding permits may be dropped without giving them
          // back (the permit, when it comes after a stop, is left unused).
          if (wait && (opts.stop ? await orStop(wait, opts.stop) : await wait) === STOPPED) break reading;
          if (stopped || subscriber.closed || opts.stop?.aborted) {
            opts.flow?.release();
            break reading;
          }
          utf8Ok ??= isUtf8(buf.subarray(bounds[0], bounds[bounds.length - 1]));
          // A line that starts with a BOM keeps the decoder's way of reading it (it drops the BOM).
          const sample =
            utf8Ok && !startsWithBom(buf, start, end)
              ? parseLine(buf.toString("utf8", start, end), position, lineNo, keep)
              : parseBytes(buf.subarray(start, end), position, lineNo, keep);
          if (opts.digests) sample.digest = rowDigest(buf, start, end);
          subscriber.next(sample);
        }
      }
      subscriber.complete();
    })().catch((e: unknown) => {
      subscriber.error(inputError(e, input));
    });

    return () => {
      stopped = true;
      if (stream !== process.stdin) stream.destroy();
    };
  });
}

/** A file that cannot be opened or read is the user's to fix (exit 2), not an internal error. */
function inputError(e: unknown, input: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new UsageError(`input file not found: ${String(input)}`);
  if (code === "EISDIR") return new UsageError(`input file ${String(input)} is a directory: give a JSONL file`);
  if (code === "EACCES" || code === "EPERM") {
    return new UsageError(`input file ${String(input)} cannot be read: ${(e as Error).message}`);
  }
  return e;
}

const STOPPED = Symbol("stopped");

/** `p`'s value, or STOPPED as soon as `signal` fires (one listener, removed once `p` settles). */
function orStop<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof STOPPED> {
  if (signal.aborted) return Promise.resolve(STOPPED);
  return new Promise((resolve, reject) => {
    const onStop = () => resolve(STOPPED);
    signal.addEventListener("abort", onStop, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onStop);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onStop);
        reject(e);
      },
    );
  });
}

/** Lines of one read: line i is buf[bounds[2i], bounds[2i+1]) (without its "\n"). */
type LineBatch = { buf: Buffer; bounds: number[] };

/**
 * Lines as raw bytes, so each can be checked as UTF-8 on its own, in batches: the complete
 * lines of each chunk read, as bounds into it, so a skipped line costs no Buffer object.
 * Only a line spanning two chunks is copied.
 */
async function* lineBatches(stream: Readable): AsyncGenerator<LineBatch> {
  // The pieces of a line spanning chunks, joined once at its end: joining them chunk by chunk
  // copied a long line again for every chunk (stdin comes in 64 KB chunks: a 32 MB line took 32 s).
  let carry: Buffer[] = [];
  for await (const chunk of stream) {
    const buf: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    let start = 0;
    let nl = buf.indexOf(10);
    if (carry.length > 0) {
      if (nl === -1) {
        carry.push(Buffer.from(buf)); // (a copy, as below)
        continue;
      }
      carry.push(buf.subarray(0, nl));
      const joined = Buffer.concat(carry);
      yield { buf: joined, bounds: [0, joined.length] };
      carry = [];
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    const bounds: number[] = [];
    for (; nl !== -1; nl = buf.indexOf(10, start)) {
      bounds.push(start, nl);
      start = nl + 1;
    }
    // (A copy: the stream may reuse its chunk's memory.)
    if (start < buf.length) carry = [Buffer.from(buf.subarray(start))];
    if (bounds.length) yield { buf, bounds };
  }
  if (carry.length > 0) {
    const rest = Buffer.concat(carry);
    if (rest.length) yield { buf: rest, bounds: [0, rest.length] };
  }
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Bytes to skip at the start of the first line (a UTF-8 BOM); refuses UTF-16. */
function firstLineSkip(bytes: Buffer, input: unknown): number {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new UsageError(
      `${typeof input === "string" ? input : "the input"} is UTF-16 encoded; JSONL must be UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)`,
    );
  }
  return bytes.subarray(0, 3).equals(UTF8_BOM) ? 3 : 0;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseBytes(bytes: Buffer, index: number, lineNo: number, keepSource: boolean): Sample {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return failed(
      index,
      ErrorCodes.ENCODING,
      `line ${lineNo}: not valid UTF-8 (is the file in another encoding? convert it to UTF-8)`,
    );
  }
  return parseLine(text, index, lineNo, keepSource);
}

export function parseLine(line: string, index: number, lineNo: number, keepSource = false): Sample {
  let row: unknown;
  try {
    row = parseJson(line);
  } catch (e) {
    return failed(index, ErrorCodes.BAD_JSON, `line ${lineNo}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof row !== "object" || row === null || Array.isArray(row)) {
    const kind = Array.isArray(row) ? "an array" : row === null ? "null" : `a ${typeof row}`;
    return failed(index, ErrorCodes.NOT_AN_OBJECT, `line ${lineNo}: a row must be a JSON object, got ${kind}`);
  }
  const r = row as Record<string, unknown>;
  return { index, row: r, out: {}, source: keepSource ? rowSource(r, line) : undefined };
}

/**
 * A line as Python's json.loads reads it, which NeMo-Skills reads input rows with: also the bare
 * `NaN`, `Infinity` and `-Infinity` that Python's json.dumps writes for non-finite floats (and
 * pandas-made data holds for missing values), read as those numbers (a prompt writes them `nan`,
 * `inf`). JSON.parse's own error for a line that is not JSON either way.
 */
function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    // (A line that could hold the mark itself, written as an escape, is not read this way.)
    const marked = line.includes("vlmpipe-non-finite:") ? undefined : markNonFinite(line);
    if (marked === undefined) throw e;
    try {
      return JSON.parse(marked, (_k, v: unknown) =>
        typeof v === "string" && v.startsWith(NON_FINITE_MARK) ? NON_FINITE[v.slice(NON_FINITE_MARK.length)] : v,
      );
    } catch {
      throw e;
    }
  }
}

const NON_FINITE_MARK = "\u0000vlmpipe-non-finite:";
const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** The line with each non-finite token outside strings as a marked string; undefined when it has none. */
function markNonFinite(text: string): string | undefined {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      // To the closing quote (an escaped character skipped).
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      continue;
    }
    if (c !== "N" && c !== "I" && c !== "-") continue;
    const token = ["-Infinity", "Infinity", "NaN"].find((t) => text.startsWith(t, i));
    if (token === undefined) continue;
    out += `${text.slice(from, i)}${JSON.stringify(NON_FINITE_MARK + token)}`;
    i += token.length - 1;
    from = i + 1;
  }
  return from === 0 ? undefined : out + text.slice(from);
}

function failed(index: number, code: ErrorCode, message: string): Sample {
  return { index, row: {}, out: {}, error: { stage: "readRows", code, message } };
}
