/**
 * NeMo-Skills' variance statistics of a score over k runs (its `<score>_statistics` object in
 * `pass@1[avg-of-k]`), accumulated row by row so no per-row list is kept:
 * - avg: the mean over rows of each row's mean over its first k runs (a fraction, not a percentage);
 * - std_dev_across_runs: the sample standard deviation (ddof 1) of the k per-run averages
 *   (run i's average is over every row's i-th attempt);
 * - std_err_across_runs: std_dev_across_runs / sqrt(k);
 * - avg_sample_std_dev: the mean over rows of the sample standard deviation of their first k runs.
 */
export type RunStatistics = {
  avg: number;
  std_dev_across_runs: number;
  avg_sample_std_dev: number;
  std_err_across_runs: number;
};

export class RunStatisticsAccumulator {
  private rows = 0;
  private readonly runSums: Float64Array;
  private readonly prefixMeanSums: Float64Array;
  private readonly prefixStdSums: Float64Array;

  constructor(readonly runs: number) {
    this.runSums = new Float64Array(runs);
    this.prefixMeanSums = new Float64Array(runs + 1);
    this.prefixStdSums = new Float64Array(runs + 1);
  }

  /** One row's scores, one per run. */
  add(scores: readonly number[]): void {
    if (scores.length !== this.runs) throw new RangeError(`expected ${this.runs} scores, got ${scores.length}`);
    this.rows++;
    // Welford over each prefix: mean and squared deviations of the first k scores.
    let mean = 0;
    let m2 = 0;
    for (let i = 0; i < this.runs; i++) {
      const x = scores[i]!;
      this.runSums[i]! += x;
      const k = i + 1;
      const d = x - mean;
      mean += d / k;
      m2 += d * (x - mean);
      this.prefixMeanSums[k]! += mean;
      if (k >= 2) this.prefixStdSums[k]! += Math.sqrt(Math.max(0, m2) / (k - 1));
    }
  }

  /** The statistics over the first k runs (2 <= k <= runs). */
  result(k: number): RunStatistics {
    if (k < 2 || k > this.runs) throw new RangeError(`statistics need 2 <= k <= ${this.runs}, got ${k}`);
    const n = Math.max(this.rows, 1);
    const runAverages = Array.from(this.runSums.subarray(0, k), (s) => s / n);
    const std = sampleStd(runAverages);
    return {
      avg: this.prefixMeanSums[k]! / n,
      std_dev_across_runs: std,
      avg_sample_std_dev: this.prefixStdSums[k]! / n,
      std_err_across_runs: std / Math.sqrt(k),
    };
  }
}

function sampleStd(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return Math.sqrt(ss / (xs.length - 1));
}
