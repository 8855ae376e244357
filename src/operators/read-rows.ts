import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Observable } from "rxjs";
import { ErrorCodes } from "../errors.js";
import type { Sample } from "../types.js";
import type { Flow } from "./flow.js";

export type ReadRowsOptions = {
  /** Pull rows only as permits free up (see Flow). Without it, rows are read as fast as they come. */
  flow?: Flow;
  /** Rows to leave out before they take a permit (resume: indexes already done). */
  skip?: (index: number) => boolean;
  /** Stop after this many rows (NeMo-Skills' max_samples; -1 or undefined: all). */
  maxSamples?: number;
  /** When aborted, no further rows are read and the stream completes (graceful Ctrl-C). */
  stop?: AbortSignal;
};

/**
 * Reads JSONL (a path, "-" for stdin, or any Readable) into Samples, one per non-blank line,
 * `index` counting rows from 0. A UTF-8 BOM and CRLF line ends are accepted. A line that is not
 * a JSON object becomes a Sample with `error` (code VLM_E_BAD_JSON / VLM_E_NOT_AN_OBJECT) naming
 * its line number, and reading goes on.
 *
 *   readRows("data.jsonl").pipe(renderPrompt(cfg), ...)
 */
export function readRows(input: string | Readable, opts: ReadRowsOptions = {}): Observable<Sample> {
  return new Observable<Sample>((subscriber) => {
    const stream: Readable =
      typeof input === "string" ? (input === "-" ? process.stdin : createReadStream(input)) : input;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let stopped = false;

    (async () => {
      let lineNo = 0;
      let index = -1;
      const max = opts.maxSamples !== undefined && opts.maxSamples >= 0 ? opts.maxSamples : Infinity;
      for await (let line of lines) {
        lineNo++;
        if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        if (line.trim() === "") continue;
        index++;
        if (index >= max) break;
        if (opts.skip?.(index)) continue;
        if (opts.stop?.aborted) break;
        const wait = opts.flow?.acquire();
        if (wait) await wait;
        if (stopped || subscriber.closed || opts.stop?.aborted) {
          opts.flow?.release();
          break;
        }
        subscriber.next(parseLine(line, index, lineNo));
      }
      subscriber.complete();
    })().catch((e: unknown) => {
      const err = e as NodeJS.ErrnoException;
      subscriber.error(
        err.code === "ENOENT" ? Object.assign(new Error(`input file not found: ${String(input)}`), { code: err.code }) : e,
      );
    });

    return () => {
      stopped = true;
      lines.close();
      if (stream !== process.stdin) stream.destroy();
    };
  });
}

export function parseLine(line: string, index: number, lineNo: number): Sample {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch (e) {
    return {
      index,
      row: {},
      out: {},
      error: { stage: "readRows", code: ErrorCodes.BAD_JSON, message: `line ${lineNo}: not valid JSON (${(e as Error).message})` },
    };
  }
  if (typeof row !== "object" || row === null || Array.isArray(row)) {
    const kind = Array.isArray(row) ? "an array" : row === null ? "null" : `a ${typeof row}`;
    return {
      index,
      row: {},
      out: {},
      error: { stage: "readRows", code: ErrorCodes.NOT_AN_OBJECT, message: `line ${lineNo}: a row must be a JSON object, got ${kind}` },
    };
  }
  return { index, row: row as Record<string, unknown>, out: {} };
}
