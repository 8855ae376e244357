/**
 * Download progress as plain lines (stderr by default): one when a file starts, one when it
 * ends, and at most one per `intervalMs` in between. Lines, not a redrawn bar, because
 * prepare runs in Slurm jobs and CI logs as often as in a terminal.
 */

export type ProgressOptions = {
  log: (line: string) => void;
  /** Least time between two progress lines of one file. */
  intervalMs?: number;
  now?: () => number;
};

export type FileProgress = {
  /** `done` is the byte count on disk, so a resumed download starts above 0. */
  update(done: number): void;
  finish(note: string): void;
  note(message: string): void;
};

export function stderrLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function createProgress(opts: ProgressOptions) {
  const interval = opts.intervalMs ?? 2_000;
  const now = opts.now ?? Date.now;
  return {
    file(label: string, total: number, startAt: number): FileProgress {
      const started = now();
      let last = started;
      let lastDone = startAt;
      opts.log(
        startAt > 0
          ? `[hub] ${label}: resuming at ${fmtBytes(startAt)} / ${fmtBytes(total)}`
          : `[hub] ${label}: downloading ${fmtBytes(total)}`,
      );
      return {
        update(done) {
          const t = now();
          if (t - last < interval) return;
          const pct = total > 0 ? ` (${Math.floor((done / total) * 100)}%)` : "";
          const rate =
            t > last ? ` ${fmtBytes(Math.max(0, Math.round(((done - lastDone) / (t - last)) * 1000)))}/s` : "";
          opts.log(`[hub] ${label}: ${fmtBytes(done)} / ${fmtBytes(total)}${pct}${rate}`);
          last = t;
          lastDone = done;
        },
        finish(note) {
          opts.log(`[hub] ${label}: done, ${fmtBytes(total)} in ${((now() - started) / 1000).toFixed(1)} s (${note})`);
        },
        note(message) {
          opts.log(`[hub] ${label}: ${message}`);
        },
      };
    },
    skip(label: string, total: number) {
      opts.log(`[hub] ${label}: already complete (${fmtBytes(total)}), skipped`);
    },
  };
}

export type Progress = ReturnType<typeof createProgress>;

export function fmtBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
