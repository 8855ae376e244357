import { mergeMap, type OperatorFunction } from "rxjs";
import { formatAsyncLine } from "../output/async-lines.js";
import type { LineSink } from "../output/sinks.js";
import type { Sample } from "../types.js";

/**
 * Writes each finished sample as one NDJSON line (input fields, what the run added, `error`
 * for a failed row, `_async_position` = its index) in completion order, and passes it on once
 * written: a slow sink slows the whole chain (rows hold their flow permit until then). The sink
 * keeps lines in arrival order and may batch those that arrive together into one write.
 *
 *   rows.pipe(..., writeOutput(await fileSink("out.jsonl-async")))
 */
export function writeOutput(sink: LineSink): OperatorFunction<Sample, Sample> {
  return mergeMap(async (s) => {
    await sink.write(formatAsyncLine(s.row, s.out, s.index, s.error));
    return s;
  });
}
