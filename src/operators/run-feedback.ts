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
  const { limit, maxFailures, stop, log } = opts;
  let inARow = 0;
  return tap((s: Sample) => {
    if (!s.error) {
      limit.succeeded();
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
  });
}
