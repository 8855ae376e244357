/**
 * A graded per-row score in [0, 1] beside the verdict (DocVQA's `anls`), reported in each mode
 * as a percentage the way NeMo-Skills reports a score of its `_get_score_dict` (base.py
 * `_compute_pass_at_k`, `is_binary_score`): a row whose scores are all 0 or 1 takes pass@k from
 * the unbiased estimator over its n runs (pass@1 is then the mean of all n), any other row the
 * best of its first k (pass@1: its first run's); pass@1[avg-of-k]: the mean of the first k runs;
 * majority@k: the score of the majority (answer, score) pair (majorityScore, ties share).
 * A run without the score counts 0; rows are averaged.
 */
import { majorityScore } from "./majority.js";
import { passAtKRow } from "./pass-at-k.js";

export class RowScoreAccumulator {
  /** True once any run carried the score. */
  seen = false;
  private rows = 0;
  private best: number[] = [];
  private mean: number[] = [];
  private majority: number[] = [];

  update(scores: readonly (number | undefined)[], answers: readonly (string | null)[]): void {
    if (scores.some((s) => s !== undefined)) this.seen = true;
    this.rows++;
    const n = scores.length;
    let correct = 0;
    let binary = true;
    for (const x of scores) {
      const v = x ?? 0;
      if (v !== 0 && v !== 1) binary = false;
      correct += v;
    }
    const estimator = binary ? passAtKRow(n, correct) : undefined;
    let best = 0;
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      const s = scores[k - 1] ?? 0;
      best = Math.max(best, s);
      sum += s;
      this.best[k] = (this.best[k] ?? 0) + (estimator ? estimator[k]! : best);
      this.mean[k] = (this.mean[k] ?? 0) + sum / k;
      if (k >= 2) {
        const first = scores.slice(0, k).map((x) => x ?? 0);
        this.majority[k] = (this.majority[k] ?? 0) + majorityScore(answers.slice(0, k), first);
      }
    }
  }

  /** The mode's score as a percentage; `mode` as the metrics keys name it (pass@k, pass@1[avg-of-k], majority@k). */
  result(mode: string): number | undefined {
    if (!this.seen || this.rows === 0) return undefined;
    const m = /^(pass@1\[avg-of-|pass@|majority@)(\d+)\]?$/.exec(mode);
    if (!m) return undefined;
    const k = Number(m[2]);
    const sums = m[1] === "pass@" ? this.best : m[1] === "majority@" ? this.majority : this.mean;
    const v = sums[k];
    return v === undefined ? undefined : (100 * v) / this.rows;
  }
}
