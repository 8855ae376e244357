import { npMean, npStdDdof1 } from "./numpy-stats.js";

/**
 * NeMo-Skills' variance statistics of a score over k runs (its `<score>_statistics` object in
 * `pass@1[avg-of-k]`, base.py `_add_std_metrics`), with its float bits:
 * - avg: np.mean over rows of np.mean of each row's first k runs (a fraction, not a percentage);
 * - std_dev_across_runs: np.std(ddof=1) of the k per-run averages (run i's average is np.mean
 *   over every row's i-th run);
 * - std_err_across_runs: std_dev_across_runs / math.sqrt(k);
 * - avg_sample_std_dev: `sum(sample_std_devs) / len(...)` of each row's np.std(ddof=1) over its first
 *   k runs, with Python's builtin sum: one addition after another. (NeMo-Skills' container runs
 *   Python 3.10, dockerfiles/Dockerfile.nemo-skills; Python 3.12's compensated float sum would not
 *   apply either, the items being numpy float64s, which it adds with `+`.)
 * numpy's pairwise summation depends on how many values there are, so the rows are kept: n values a
 * row, 1 byte each while they are 0/1 verdicts, 4 while whole token counts below 2^32, else 8 (a
 * 1,730-row, 4-seed MMMU-Pro run: 7 KB for the verdicts and 28 KB for each token series).
 */
export type RunStatistics = {
  avg: number;
  std_dev_across_runs: number;
  avg_sample_std_dev: number;
  std_err_across_runs: number;
};

export class RunStatisticsAccumulator {
  private readonly values = new CompactColumn();
  private rows = 0;

  constructor(readonly runs: number) {}

  /** The number of rows added. */
  get size(): number {
    return this.rows;
  }

  /** One row's scores, one per run. */
  add(scores: ArrayLike<number>): void {
    if (scores.length !== this.runs) throw new RangeError(`expected ${this.runs} scores, got ${scores.length}`);
    for (let i = 0; i < this.runs; i++) this.values.push(scores[i]!);
    this.rows++;
  }

  /** The statistics over the first k runs (2 <= k <= runs) of the rows added (at least one). */
  result(k: number): RunStatistics {
    if (k < 2 || k > this.runs) throw new RangeError(`statistics need 2 <= k <= ${this.runs}, got ${k}`);
    if (this.rows === 0) throw new RangeError("statistics need at least one row");
    const n = this.runs;
    const rows = this.rows;
    const v = this.values.view();
    const rowMeans = new Float64Array(rows);
    let sampleStdSum = 0;
    for (let r = 0; r < rows; r++) {
      rowMeans[r] = npMean(v, r * n, k, 1);
      sampleStdSum += npStdDdof1(v, r * n, k, 1);
    }
    const runAverages = new Float64Array(k);
    for (let i = 0; i < k; i++) runAverages[i] = npMean(v, i, rows, n);
    const std = npStdDdof1(runAverages, 0, k, 1);
    return {
      avg: npMean(rowMeans, 0, rows, 1),
      std_dev_across_runs: std,
      avg_sample_std_dev: sampleStdSum / rows,
      std_err_across_runs: std / Math.sqrt(k),
    };
  }
}

/** A growable array of numbers in the narrowest of Uint8, Uint32 and Float64 that holds them all. */
class CompactColumn {
  private data: Uint8Array | Uint32Array | Float64Array = new Uint8Array(64);
  private length = 0;

  push(x: number): void {
    const full = this.length === this.data.length;
    const kind = Math.max(kindOf(this.data), kindOfValue(x));
    if (full || kind !== kindOf(this.data)) {
      const capacity = full ? 2 * this.data.length : this.data.length;
      const next =
        kind === 0 ? new Uint8Array(capacity) : kind === 1 ? new Uint32Array(capacity) : new Float64Array(capacity);
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data[this.length++] = x;
  }

  view(): ArrayLike<number> {
    return this.data.subarray(0, this.length);
  }
}

function kindOf(a: Uint8Array | Uint32Array | Float64Array): number {
  return a instanceof Uint8Array ? 0 : a instanceof Uint32Array ? 1 : 2;
}

function kindOfValue(x: number): number {
  if (!Number.isInteger(x) || x < 0 || Object.is(x, -0)) return 2;
  return x <= 0xff ? 0 : x <= 0xffffffff ? 1 : 2;
}
