import { setMaxListeners } from "node:events";
import { Observable, type OperatorFunction } from "rxjs";
import type { Sample } from "../types.js";
import { withError } from "./sample-error.js";

export type ConcurrencyStats = { active: number; pending: number };

export type ConcurrentMapOptions = {
  /** The stage name recorded on a failed row. */
  stage: string;
  /** Upper bound on calls in flight; read at each start, so it may change during a run. */
  limit: number | (() => number);
  /** Live counts for progress output. */
  stats?: ConcurrencyStats;
  /** Rows the stage has nothing to do for: passed on at once, without a call (or a promise). */
  skip?: (sample: Sample) => boolean;
  /** The row's result when it is known at once (undefined: not known, make the call): passed on without a call. */
  now?: (sample: Sample) => Sample | undefined;
  /**
   * The run's graceful stop: once aborted, a row that would start a call is dropped (never passed
   * on, so it has no output line and a resumed run does it); calls in flight finish.
   */
  stop?: AbortSignal;
};

/**
 * The shared engine for per-row async work: at most `limit` calls in flight, results in
 * completion order, a thrown error recorded on that row (the stream never errors for a row),
 * rows that already carry an error passed through untouched, rows not started by a graceful
 * stop dropped, and in-flight calls aborted when the subscriber goes away.
 */
export function concurrentMap(
  fn: (sample: Sample, signal: AbortSignal) => Promise<Sample>,
  opts: ConcurrentMapOptions,
): OperatorFunction<Sample, Sample> {
  const limit = typeof opts.limit === "number" ? () => opts.limit as number : opts.limit;
  return (source) =>
    new Observable<Sample>((subscriber) => {
      const queue: Sample[] = [];
      // One controller for all the calls of this subscription, aborted when it goes away
      // with calls in flight: a controller per row (an AbortSignal is an EventTarget, costly
      // to make) showed in profiles at thousands of rows per second.
      const ac = new AbortController();
      // Each call may listen on it (image fetches, retry waits): no leak warning past 10.
      setMaxListeners(0, ac.signal);
      const stats = opts.stats ?? { active: 0, pending: 0 };
      let active = 0;
      let sourceDone = false;

      const pump = () => {
        while (queue.length > 0 && active < Math.max(1, limit())) start(queue.shift() as Sample);
        stats.active = active;
        stats.pending = queue.length;
        if (sourceDone && active === 0 && queue.length === 0) subscriber.complete();
      };

      const start = (sample: Sample) => {
        if (sample.error || opts.skip?.(sample)) {
          subscriber.next(sample);
          return;
        }
        const known = opts.now?.(sample);
        if (known) {
          subscriber.next(known);
          return;
        }
        if (opts.stop?.aborted) return;
        active++;
        fn(sample, ac.signal).then(done, (e: unknown) => done(withError(sample, opts.stage, e)));
      };

      const done = (result: Sample) => {
        active--;
        if (subscriber.closed) return;
        subscriber.next(result);
        pump();
      };

      const sub = source.subscribe({
        next: (s) => {
          queue.push(s);
          pump();
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });

      return () => {
        sub.unsubscribe();
        if (active > 0) ac.abort();
      };
    });
}
