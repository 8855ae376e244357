import { majorityScore } from "./majority.js";
import { passAtKRow } from "./pass-at-k.js";
import { RunStatisticsAccumulator } from "./run-statistics.js";

/** One score method's sums over rows: pass@k, pass@1[avg-of-k], majority@k and its statistics. */
export class ScoreTally {
  /** The first row counted (its index in the benchmark or subset); -1 before any. */
  firstRow = -1;
  // Indexed by k (0 unused).
  readonly pass: Float64Array;
  readonly avgOf: Float64Array;
  readonly majority: Float64Array;
  readonly stats: RunStatisticsAccumulator;

  /** `withStats` false: no `_statistics` (a graded score reported beside the verdicts keeps none). */
  constructor(
    private readonly runs: number,
    private readonly withStats = true,
  ) {
    this.pass = new Float64Array(runs + 1);
    this.avgOf = new Float64Array(runs + 1);
    this.majority = new Float64Array(runs + 1);
    this.stats = new RunStatisticsAccumulator(withStats ? runs : 0);
  }

  /**
   * One row: its verdict and answer in each run, in run order. A row of 0/1 verdicts (NeMo-Skills'
   * `is_binary_score`) takes pass@k from the estimator, any other the best of the first k; avg-of-k
   * is `sum(scores[:k]) / k`, added one after another as Python 3.10's sum does (NeMo-Skills'
   * container; 3.12 compensates float sums, which can differ in the last bit for graded verdicts).
   */
  add(row: number, scores: Float64Array, answers: readonly (string | null)[], byAnswer?: boolean): void {
    if (this.firstRow < 0) this.firstRow = row;
    const n = this.runs;
    let correct = 0;
    let binary = true;
    for (const x of scores) {
      if (x !== 0 && x !== 1) binary = false;
      correct += x;
    }
    const estimator = binary ? passAtKRow(n, correct) : undefined;
    let sum = 0;
    let best = Number.NEGATIVE_INFINITY;
    for (let k = 1; k <= n; k++) {
      const x = scores[k - 1]!;
      sum += x;
      best = Math.max(best, x);
      this.pass[k]! += estimator ? estimator[k]! : best;
      this.avgOf[k]! += sum / k;
      if (k >= 2) this.majority[k]! += majorityScore(answers.slice(0, k), scores.subarray(0, k), byAnswer);
    }
    if (this.withStats && n >= 2) this.stats.add(scores);
  }
}
