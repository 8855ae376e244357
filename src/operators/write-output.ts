import { Observable, type OperatorFunction } from "rxjs";
import { formatAsyncLine } from "../output/async-lines.js";
import { rowText } from "../output/row-source.js";
import type { LineSink } from "../output/sinks.js";
import type { Sample } from "../types.js";

/**
 * Writes each finished sample as one NDJSON line (input fields, as read when the sample kept
 * its source line; what the run added; `error` for a failed row; `_row_digest` when
 * the sample has a digest; `_async_position` = its index) in completion order, and passes it
 * on once written: a slow sink slows the whole chain (rows hold their flow permit until then). The sink keeps lines in arrival order and may
 * batch those that arrive together into one write.
 *
 *   rows.pipe(..., writeOutput(await fileSink("out.jsonl-async")))
 */
export function writeOutput(sink: LineSink): OperatorFunction<Sample, Sample> {
  return writeLines(sink, (s) => formatAsyncLine(s.row, s.out, s.index, s.error, rowText(s), s.digest));
}

/**
 * The engine of writeOutput, for any line format: `sink.write` is called as each value
 * arrives (so lines keep arrival order and the sink can batch them), the value goes on once
 * its line is written, and the stream completes after the last write. A failed write errors
 * the stream (the output is unusable).
 * Why not `mergeMap(async ...)`: with a thousand writes pending, RxJS's bookkeeping of as many
 * inner subscriptions (an array search per completion) showed in profiles of 1M-row scoring.
 */
export function writeLines<T>(sink: LineSink, format: (value: T) => string): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let pending = 0;
      let sourceDone = false;
      const settle = () => {
        if (sourceDone && pending === 0) subscriber.complete();
      };
      // A sink may hand several lines the same promise (fileSink: one per write): their
      // values wait in one group behind one callback instead of a callback per line.
      let lastWrite: Promise<void> | undefined;
      let lastGroup: T[] = [];
      const sub = source.subscribe({
        next: (value) => {
          let line: string;
          try {
            line = format(value);
          } catch (e) {
            subscriber.error(e);
            return;
          }
          pending++;
          const written = sink.write(line);
          if (written === lastWrite) {
            lastGroup.push(value);
            return;
          }
          const group = [value];
          lastWrite = written;
          lastGroup = group;
          written.then(
            () => {
              for (const v of group) {
                pending--;
                if (subscriber.closed) return;
                subscriber.next(v);
              }
              settle();
            },
            (e: unknown) => subscriber.error(e),
          );
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          settle();
        },
      });
      return () => sub.unsubscribe();
    });
}
