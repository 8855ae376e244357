/**
 * A graded per-row score in [0, 1] beside the verdict (DocVQA's `anls`), reported in each mode
 * as a percentage the way NeMo-Skills reports a score of its `_get_score_dict` (base.py
 * `_compute_pass_at_k`, `is_binary_score`): a row whose scores are all 0 or 1 takes pass@k from
 * the unbiased estimator over its n runs (pass@1 is then the mean of all n), any other row the
 * best of its first k (pass@1: its first run's); pass@1[avg-of-k]: the mean of the first k runs;
 * majority@k: the score of the majority (answer, score) pair (majorityScore, ties share).
 * A run without the score counts 0; rows are averaged.
 */
import { ScoreTally } from "./score-tally.js";

export class RowScoreAccumulator {
  /** True once any run carried the score. */
  seen = false;
  private rows = 0;
  /** The sums, as a verdict's (NeMo-Skills' rule), made at the first row (its run count). */
  private tally: ScoreTally | undefined;

  update(scores: readonly (number | undefined)[], answers: readonly (string | null)[]): void {
    if (scores.some((s) => s !== undefined)) this.seen = true;
    this.tally ??= new ScoreTally(scores.length, false);
    this.tally.add(
      this.rows++,
      Float64Array.from(scores, (x) => x ?? 0),
      answers,
    );
  }

  /** The mode's score as a percentage; `mode` as the metrics keys name it (pass@k, pass@1[avg-of-k], majority@k). */
  result(mode: string): number | undefined {
    if (!this.seen || this.rows === 0 || !this.tally) return undefined;
    const m = /^(pass@1\[avg-of-|pass@|majority@)(\d+)\]?$/.exec(mode);
    if (!m) return undefined;
    const k = Number(m[2]);
    const t = this.tally;
    const sums = m[1] === "pass@" ? t.pass : m[1] === "majority@" ? t.majority : t.avgOf;
    const v = sums[k];
    return v === undefined ? undefined : (100 * v) / this.rows;
  }
}
