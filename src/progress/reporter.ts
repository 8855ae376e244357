import { createRequire } from "node:module";
import type { Writable } from "node:stream";

const require = createRequire(import.meta.url);

/** What progress shows of a run (RunStats is one; so is a job's status read from its process). */
export interface ProgressSource {
  done: number;
  failed: number;
  tokens: number;
  retries: number;
  readonly seconds: number;
  inFlight: { active: number };
  limit?: { limit: number; max: number };
  line(): string;
}

/** Where a run shows its progress: live bars on a terminal, periodic lines in logs, or nothing. */
export interface ProgressReporter {
  /** `total`: rows this run will process (resolves later for big files; undefined for stdin).
   *  A function, so that reporters that show no total (--quiet) do not make a run count its
   *  input: on a resume that pass would compete with the skipping of the done rows. */
  start(label: string, stats: ProgressSource, total: () => Promise<number | undefined>): { stop(): void };
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

const eta = (stats: ProgressSource, total: number | undefined): string => {
  const n = stats.done + stats.failed;
  if (total === undefined || n === 0) return "?";
  const left = Math.max(0, total - n) * (stats.seconds / n);
  return left >= 3600
    ? `${(left / 3600).toFixed(1)}h`
    : left >= 60
      ? `${Math.round(left / 60)}m`
      : `${Math.round(left)}s`;
};

/** Without a terminal (logs, Slurm): one summary line every interval. */
export function lineReporter(log: (line: string) => void, intervalSeconds: number): ProgressReporter {
  return {
    start(label, stats, totalP) {
      if (intervalSeconds <= 0) return { stop() {} };
      let total: number | undefined;
      void totalP().then(
        (t) => (total = t),
        () => undefined,
      );
      // (the total, once counted, turns the count into a percentage and an ETA)
      const timer = setInterval(() => {
        const n = stats.done + stats.failed;
        const of =
          total !== undefined
            ? `/${total} (${((100 * n) / Math.max(total, 1)).toFixed(1)}%, ETA ${eta(stats, total)})`
            : "";
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
  // Loaded only for a terminal: logs, Slurm jobs and --quiet runs start without it.
  const { MultiBar, Presets } = require("cli-progress") as typeof import("cli-progress");
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
      void totalP().then(
        (t) => {
          total = t;
          if (t !== undefined) bar.setTotal(t);
        },
        () => undefined,
      );
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

function payload(label: string, stats: ProgressSource, total: number | undefined) {
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

/**
 * An eval's jobs run as child processes whose stderr is a pipe: they send their status as
 * lines with this prefix, and the eval draws the bars.
 */
export const PROGRESS_PREFIX = "@vlmpipe-progress ";
/** Set by an eval that draws bars for its child jobs. */
export const PROGRESS_JSON_ENV = "VLMPIPE_PROGRESS_JSON";

type Status = {
  label: string;
  total?: number;
  done: number;
  failed: number;
  tokens: number;
  retries: number;
  seconds: number;
  active: number;
  limit?: { limit: number; max: number };
};

/** A child job's side: its status as a PROGRESS_PREFIX line twice a second. */
export function jsonReporter(
  write: (line: string) => void,
  log: (line: string) => void,
  intervalMs = 500,
): ProgressReporter {
  return {
    start(label, stats, totalP) {
      let total: number | undefined;
      void totalP().then(
        (t) => (total = t),
        () => undefined,
      );
      const send = () => {
        const st: Status = {
          label,
          total,
          done: stats.done,
          failed: stats.failed,
          tokens: stats.tokens,
          retries: stats.retries,
          seconds: stats.seconds,
          active: stats.inFlight.active,
          ...(stats.limit ? { limit: { limit: stats.limit.limit, max: stats.limit.max } } : {}),
        };
        write(`${PROGRESS_PREFIX}${JSON.stringify(st)}`);
      };
      const timer = setInterval(send, intervalMs);
      timer.unref();
      return {
        stop() {
          clearInterval(timer);
          send();
        },
      };
    },
    log,
    close() {},
  };
}

/** The eval's side: a child job's last status, shown as a bar. */
export class RemoteProgress implements ProgressSource {
  done = 0;
  failed = 0;
  tokens = 0;
  retries = 0;
  seconds = 0;
  inFlight = { active: 0 };
  limit?: { limit: number; max: number };
  total?: number;
  label = "";

  /** Takes a PROGRESS_PREFIX line; false for any other line. */
  update(line: string): boolean {
    if (!line.startsWith(PROGRESS_PREFIX)) return false;
    try {
      const st = JSON.parse(line.slice(PROGRESS_PREFIX.length)) as Status;
      Object.assign(this, {
        done: st.done,
        failed: st.failed,
        tokens: st.tokens,
        retries: st.retries,
        seconds: st.seconds,
        label: st.label,
        total: st.total,
      });
      this.inFlight = { active: st.active };
      this.limit = st.limit;
    } catch {
      // a torn status line: the next one comes in half a second
    }
    return true;
  }

  line(): string {
    return `${this.done + this.failed} rows (${this.failed} failed), in flight ${this.inFlight.active}, retries ${this.retries}`;
  }
}
