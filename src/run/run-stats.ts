import type { Sample } from "../types.js";

/** Counters of one run, for progress lines and the final summary. */
export class RunStats {
  readonly started = Date.now();
  done = 0;
  failed = 0;
  retries = 0;
  tokens = 0;
  /** Rows already finished by an earlier run (resume). */
  previouslyDone = 0;
  readonly failuresByCode = new Map<string, number>();
  /** The first failed row (in input order) of each error code: its position, id and message (failure-summary.ts). */
  readonly firstFailures = new Map<string, { index: number; id?: string; message: string }>();
  inFlight = { active: 0, pending: 0 };
  /** The adaptive concurrency limit, shown in progress lines. */
  limit?: { limit: number; max: number };

  record(s: Sample): void {
    if (s.error) {
      this.failed++;
      this.failuresByCode.set(s.error.code, (this.failuresByCode.get(s.error.code) ?? 0) + 1);
      // The first in input order (rows finish out of order), so a rerun names the same row.
      const seen = this.firstFailures.get(s.error.code);
      if (seen === undefined || s.index < seen.index) {
        const id = s.row.id;
        const shown = typeof id === "string" || typeof id === "number" ? String(id) : undefined;
        this.firstFailures.set(s.error.code, { index: s.index, id: shown, message: s.error.message });
      }
    } else this.done++;
    const t = s.out.num_generated_tokens;
    if (typeof t === "number") this.tokens += t;
  }

  get seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  line(): string {
    const s = this.seconds;
    const rate = s > 0 ? (this.done + this.failed) / s : 0;
    return (
      `${this.done + this.failed} rows (${this.failed} failed), ${rate.toFixed(1)} rows/s, ` +
      `${Math.round(this.tokens / Math.max(s, 1e-9))} tokens/s, in flight ${this.inFlight.active}` +
      (this.limit ? ` (limit ${this.limit.limit}/${this.limit.max})` : "") +
      `, retries ${this.retries}`
    );
  }

  summary(): string {
    const codes = [...this.failuresByCode].map(([c, n]) => `${c} x${n}`).join(", ");
    return (
      `${this.done + this.failed} rows in ${this.seconds.toFixed(1)}s` +
      (this.previouslyDone ? ` (+${this.previouslyDone} done before)` : "") +
      `, ${this.failed} failed${codes ? ` (${codes})` : ""}, ${this.retries} retries, ${this.tokens} tokens generated`
    );
  }
}
