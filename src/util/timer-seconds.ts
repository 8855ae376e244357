import { z } from "zod";

/**
 * The longest delay a Node timer takes: 2^31 - 1 ms, about 24.8 days. A longer one prints
 * TimeoutOverflowWarning and fires after 1 ms instead, so a timeout set in seconds is refused
 * above this rather than silently turned into a timer that fires at once.
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A positive number of seconds that a Node timer can wait for. */
export function timerSeconds() {
  return z
    .number()
    .positive()
    .max(MAX_TIMER_SECONDS, {
      message: `at most ${MAX_TIMER_SECONDS} seconds (24.8 days, the longest wait a Node timer takes)`,
    });
}
