import { type MonoTypeOperatorFunction, tap } from "rxjs";
import type { Sample } from "../types.js";

export type RunFeedbackOptions = {
  /** Told of each generated row (AdaptiveLimit: a success lets the limit grow again). */
  limit: { succeeded(): void };
  /** Stop after this many failed rows in a row (0: never). */
  maxFailures: number;
  /** Aborted once, when the count reaches maxFailures: the run's graceful stop. */
  stop: AbortController;
  log: (line: string) => void;
};

/**
 * Feeds each generated row back into its run: a success grows the adaptive concurrency limit, and
 * `maxFailures` failed rows in a row stop the run cleanly (a dead server should not burn the
 * whole input into error lines; the rerun resumes). Rows pass through unchanged.
 * "In a row" is the order rows come out of generate, counted here: a count kept where lines are
 * written lags by the rows between the two (a write waits for its batch), and the stop came late.
 *
 *   runFeedback({ limit, maxFailures: 100, stop, log })
 */
export function runFeedback(opts: RunFeedbackOptions): MonoTypeOperatorFunction<Sample> {
  const count = failureCount(opts);
  return tap((s: Sample) => {
    if (!s.error) opts.limit.succeeded();
    count(s);
  });
}

/**
 * The same stop for rows as they are written, at the end of the chain: failures of the stages
 * after generate (a judge whose server refuses every call) count too. It comes later than
 * runFeedback's for generate's own failures, which that one sees first.
 */
export function failureStop(opts: Omit<RunFeedbackOptions, "limit">): MonoTypeOperatorFunction<Sample> {
  return tap(failureCount(opts));
}

function failureCount({ maxFailures, stop, log }: Omit<RunFeedbackOptions, "limit">): (s: Sample) => void {
  let inARow = 0;
  return (s) => {
    if (!s.error) {
      inARow = 0;
      return;
    }
    inARow++;
    if (maxFailures > 0 && inARow >= maxFailures && !stop.signal.aborted) {
      log(
        `vlmpipe: ${maxFailures} rows failed in a row (last: ${s.error.message}); stopping. ` +
          "Fix the cause and rerun to resume.",
      );
      stop.abort();
    }
  };
}
