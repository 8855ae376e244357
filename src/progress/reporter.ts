import type { Writable } from "node:stream";
import { MultiBar, Presets } from "cli-progress";
import type { RunStats } from "../run/run-stats.js";

/** Where a run shows its progress: live bars on a terminal, periodic lines in logs, or nothing. */
export interface ProgressReporter {
  /** `total`: rows this run will process (resolves later for big files; undefined for stdin). */
  start(label: string, stats: RunStats, total: Promise<number | undefined>): { stop(): void };
  /** A log line that must not tear the bars apart. */
  log(line: string): void;
  close(): void;
}

export function createReporter(opts: {
  stream: Writable & { isTTY?: boolean };
  /** Where periodic lines go without a terminal (default: the stream). */
  log?: (line: string) => void;
  quiet: boolean;
  intervalSeconds: number;
}): ProgressReporter {
  const log = opts.log ?? ((l: string) => opts.stream.write(`${l}\n`));
  if (opts.quiet) return { start: () => ({ stop() {} }), log, close() {} };
  if (opts.stream.isTTY) return barReporter(opts.stream);
  return lineReporter(log, opts.intervalSeconds);
}

const eta = (stats: RunStats, total: number | undefined): string => {
  const n = stats.done + stats.failed;
  if (total === undefined || n === 0) return "?";
  const left = Math.max(0, total - n) * (stats.seconds / n);
  return left >= 3600 ? `${(left / 3600).toFixed(1)}h` : left >= 60 ? `${Math.round(left / 60)}m` : `${Math.round(left)}s`;
};

/** Without a terminal (logs, Slurm): one summary line every interval. */
export function lineReporter(log: (line: string) => void, intervalSeconds: number): ProgressReporter {
  return {
    start(label, stats, totalP) {
      let total: number | undefined;
      void totalP.then((t) => (total = t), () => undefined);
      if (intervalSeconds <= 0) return { stop() {} };
      // (the total, once counted, turns the count into a percentage and an ETA)
      const timer = setInterval(() => {
        const n = stats.done + stats.failed;
        const of = total !== undefined ? `/${total} (${((100 * n) / Math.max(total, 1)).toFixed(1)}%, ETA ${eta(stats, total)})` : "";
        log(`vlmpipe: ${label}: ${n}${of} ${stats.line()}`);
      }, intervalSeconds * 1000);
      timer.unref();
      return { stop: () => clearInterval(timer) };
    },
    log,
    close() {},
  };
}

/** On a terminal: a live bar per running benchmark/seed (cli-progress), redrawn twice a second. */
function barReporter(stream: Writable): ProgressReporter {
  const multi = new MultiBar(
    {
      stream: stream as NodeJS.WriteStream,
      format:
        "{label} |{bar}| {value}/{total} | {rate} rows/s | ETA {eta_text} | {tps} tok/s | in flight {active}{limit} | retries {retries} | failed {failed}",
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 24,
      fps: 4,
    },
    Presets.shades_classic,
  );
  return {
    start(label, stats, totalP) {
      let total: number | undefined;
      const bar = multi.create(0, 0, payload(label, stats, undefined));
      void totalP.then((t) => {
        total = t;
        if (t !== undefined) bar.setTotal(t);
      }, () => undefined);
      const update = () => bar.update(stats.done + stats.failed, payload(label, stats, total));
      const timer = setInterval(update, 500);
      timer.unref();
      return {
        stop() {
          clearInterval(timer);
          update();
        },
      };
    },
    log: (line) => {
      multi.log(`${line}\n`);
      multi.update(); // cli-progress writes buffered log lines at the next redraw
    },
    close: () => multi.stop(),
  };
}

function payload(label: string, stats: RunStats, total: number | undefined) {
  const s = Math.max(stats.seconds, 1e-9);
  return {
    label,
    rate: ((stats.done + stats.failed) / s).toFixed(1),
    eta_text: eta(stats, total),
    tps: Math.round(stats.tokens / s),
    active: stats.inFlight.active,
    limit: stats.limit ? ` (limit ${stats.limit.limit}/${stats.limit.max})` : "",
    retries: stats.retries,
    failed: stats.failed,
  };
}
