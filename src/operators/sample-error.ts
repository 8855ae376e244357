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

// Error lines stay small: resume reads a line's status from its tail.
function clip(m: string): string {
  return m.length > 2000 ? `${m.slice(0, 2000)}...` : m;
}
