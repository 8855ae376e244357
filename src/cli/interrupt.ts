/**
 * Ctrl-C once: stop taking rows and let in-flight ones finish (at most `graceSeconds`); twice
 * (or after the grace): abort in-flight requests. The partial output stays valid either way.
 */
export function installInterrupts(
  log: (l: string) => void,
  graceSeconds = 60,
): { stop: AbortSignal; abort: AbortSignal; dispose: () => void } {
  const stop = new AbortController();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      log(`vlmpipe: ${sig}: finishing the rows in flight (up to ${graceSeconds}s); press Ctrl-C again to stop now`);
      stop.abort();
      timer = setTimeout(() => abort.abort(), graceSeconds * 1000);
      timer.unref();
    } else if (!abort.signal.aborted) {
      log(`vlmpipe: ${sig}: stopping now`);
      abort.abort();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    stop: stop.signal,
    abort: abort.signal,
    dispose: () => {
      if (timer) clearTimeout(timer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
