import { concatMap, type OperatorFunction } from "rxjs";
import { formatAsyncLine } from "../output/async-lines.js";
import type { LineSink } from "../output/sinks.js";
import type { Sample } from "../types.js";

/**
 * Writes each finished sample as one NDJSON line (input fields, what the run added, `error`
 * for a failed row, `_async_position` = its index) in completion order, and passes it on once
 * written: a slow sink slows the whole chain.
 *
 *   rows.pipe(..., writeOutput(await fileSink("out.jsonl-async")))
 */
export function writeOutput(sink: LineSink): OperatorFunction<Sample, Sample> {
  return concatMap(async (s) => {
    await sink.write(formatAsyncLine(s.row, s.out, s.index, s.error));
    return s;
  });
}
