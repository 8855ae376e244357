/**
 * Which fault, if any, hits the n-th chat request. Each kind draws its own hash of
 * (seed, n, kind), so a test that sets one rate sees the same requests fail on every run,
 * and changing one rate does not move the faults of another kind.
 */
import { unit } from "./hash.js";
import type { FaultOptions } from "./options.js";

/** Decided once the body is read, before validation: the request never gets an answer. */
export type EarlyFault = "fail" | "drop" | undefined;

/** Decided for a valid request, shaping how its answer goes wrong. */
export type AnswerFaults = {
  /** Stream: send a few chunks, then destroy the socket. */
  dropMidStream: boolean;
  /** Stream: send a few chunks, then `data: {"error": ...}` and [DONE]. */
  streamError: boolean;
  /** A body (or one SSE line) that is not JSON. */
  malformed: boolean;
  /** Stream: after the first chunk, wait stall_ms. */
  stall: boolean;
};

const hit = (rate: number, seed: number, n: number, kind: string) => rate > 0 && unit(seed, n, kind) < rate;

/** `sinceFailFirst`: requests counted from when fail_first was last set (start or setFaults). */
export function earlyFault(f: FaultOptions, seed: number, n: number, sinceFailFirst = n): EarlyFault {
  if (sinceFailFirst < f.fail_first) return "fail";
  if (hit(f.drop_rate, seed, n, "drop")) return "drop";
  if (hit(f.fail_rate, seed, n, "fail")) return "fail";
  return undefined;
}

export function answerFaults(f: FaultOptions, seed: number, n: number, stream: boolean): AnswerFaults {
  const dropMidStream = stream && hit(f.drop_mid_stream_rate, seed, n, "drop_mid_stream");
  const streamError = stream && !dropMidStream && hit(f.stream_error_rate, seed, n, "stream_error");
  const malformed = !dropMidStream && !streamError && hit(f.malformed_rate, seed, n, "malformed");
  const stall = stream && f.stall_ms > 0 && hit(f.stall_rate, seed, n, "stall");
  return { dropMidStream, streamError, malformed, stall };
}
