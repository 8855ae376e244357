import { ErrorCodes, VlmError } from "../errors.js";

const abortedError = () => new VlmError(ErrorCodes.ABORTED, "aborted");

/**
 * Waits `ms`; with a signal, rejects with `aborted()` as soon as it fires (default: a VLM_E_ABORTED
 * error). The one sleep of the code base: retry layers, the launcher, the output sink.
 */
export function sleep(ms: number, signal?: AbortSignal, aborted: () => Error = abortedError): Promise<void> {
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(aborted());
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
