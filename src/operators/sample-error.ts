import { ErrorCodes, VlmError } from "../errors.js";
import type { Sample, SampleError } from "../types.js";

/** Records a failure on the sample (never thrown into the stream). */
export function withError(sample: Sample, stage: string, e: unknown): Sample {
  const err: SampleError =
    e instanceof VlmError
      ? {
          stage,
          code: e.code,
          message: clip(e.message),
          ...(e.attempts !== undefined ? { attempts: e.attempts } : {}),
          ...(e.status !== undefined ? { status: e.status } : {}),
        }
      : { stage, code: ErrorCodes.INTERNAL, message: clip(e instanceof Error ? e.message : String(e)) };
  return { ...sample, error: err };
}

/** Bytes a message takes at most in a line, JSON-escaped: resume looks for the error object in a line's last 4 KB. */
const MAX_MESSAGE_BYTES = 2000;

// Error lines stay small: resume reads a line's status from its tail (async-lines.ts), so the
// bound is on the message's bytes as written (a character may take up to 6), not its length.
function clip(m: string): string {
  if (m.length <= MAX_MESSAGE_BYTES / 6) return m;
  let s = m.length > MAX_MESSAGE_BYTES ? m.slice(0, MAX_MESSAGE_BYTES) : m;
  while (Buffer.byteLength(JSON.stringify(s)) > MAX_MESSAGE_BYTES) s = s.slice(0, Math.floor(s.length * 0.8));
  // (A cut between the two halves of a surrogate pair would leave half a character.)
  if (/[\ud800-\udbff]$/.test(s)) s = s.slice(0, -1);
  return s === m ? m : `${s}...`;
}
