import { z } from "zod";
import { UsageError } from "../errors.js";
import { MAX_TIMER_SECONDS } from "../util/timer-seconds.js";

/**
 * Commander parsers for numeric flags, each a zod schema: "abc", "", "-3" where a count is
 * asked for are refused with a message naming the flag and what it takes (exit 2), instead of
 * running with NaN or a negative number.
 */
export function numberFlag(flag: string, schema: z.ZodType<number>, takes: string): (v: string) => number {
  return (v: string) => {
    const r = schema.safeParse(v.trim() === "" ? Number.NaN : Number(v));
    if (!r.success) throw new UsageError(`${flag} takes ${takes}, got "${v}"`);
    return r.data;
  };
}

export const wholeAtLeast = (flag: string, min: number) =>
  numberFlag(flag, z.number().int().min(min), min === 1 ? "a positive whole number" : `a whole number, ${min} or more`);

/**
 * Seconds that end up in a Node timer: above MAX_TIMER_SECONDS (24.8 days) a timer fires after
 * 1 ms instead (with a TimeoutOverflowWarning), so such a value is refused, not run with.
 */
export const secondsFlag = (flag: string) => {
  const parse = numberFlag(flag, z.number().min(0).finite(), "a number of seconds, 0 or more");
  return (v: string): number => {
    const n = parse(v);
    if (n > MAX_TIMER_SECONDS) {
      throw new UsageError(
        `${flag} takes at most ${MAX_TIMER_SECONDS} seconds (24.8 days, the longest wait a Node timer takes), got "${v}"`,
      );
    }
    return n;
  };
};

/** Milliseconds that end up in a Node timer: at most MAX_TIMER_SECONDS' worth (see secondsFlag). */
export const millisecondsFlag = (flag: string) =>
  numberFlag(
    flag,
    z
      .number()
      .min(0)
      .max(MAX_TIMER_SECONDS * 1000),
    `milliseconds, 0 to ${MAX_TIMER_SECONDS * 1000} (24.8 days, the longest wait a Node timer takes)`,
  );

export const probabilityFlag = (flag: string) =>
  numberFlag(flag, z.number().min(0).max(1), "a probability between 0 and 1");

export const integerFlag = (flag: string) => numberFlag(flag, z.number().int(), "a whole number");
