import { majorityScore } from "./majority.js";
import { passAtK } from "./pass-at-k.js";
import type { RowRecord } from "./record.js";
import { RowScoreAccumulator } from "./row-score.js";
import { RunStatisticsAccumulator } from "./run-statistics.js";
import type { GroupMetrics, ModeMetrics } from "./types.js";

/**
 * The metrics of one benchmark or subset, fed one row at a time (its records from every run, in
 * file order), with NeMo-Skills' definitions (nemo_skills/evaluation/metrics/base.py, MathMetrics):
 * - pass@k: the unbiased estimator over all n runs of the row;
 * - pass@1[avg-of-k]: the mean verdict of the first k runs, with `<method>_statistics`;
 * - each for every score method the rows carry (symbolic_correct; judge_correct from `judgement`;
 *   with both, both_correct and any_correct: MathMetrics._get_score_dict);
 * - majority@k (k >= 2): see majorityScore, over the first k runs;
 * - no_answer: pass@k: all first k runs have no answer; avg-of-k: their share; majority@k: all none;
 * - num_entries (rows), avg_tokens (mean over rows of the mean over runs, truncated),
 *   gen_seconds (last end - first start, truncated; a row's end times count only when it has a start time).
 * Beyond NeMo-Skills (which has no failed rows): a run whose line carries vlmpipe's own error object
 * is a wrong answer and no answer (it stays in the denominator, so numbers compare with NeMo-Skills'),
 * and `num_errors` counts such lines; `extractor_disagreement` is the share of lines with both
 * extractors' answers where they differ. Both keys are vlmpipe's additions.
 */
export class MetricsAccumulator {
  /** `majorityByAnswer`: vlmpipe's opt-in vote by answer alone (see majorityScore). */
  constructor(private readonly opts: { majorityByAnswer?: boolean } = {}) {}

  private runs = 0;
  private total = 0;
  private tokenSum = 0;
  private minStart = Number.POSITIVE_INFINITY;
  private maxEnd = Number.NEGATIVE_INFINITY;
  /** The verdicts rows carry: symbolic_correct, judge_correct (read from `judgement`), and both. */
  private readonly tallies = new Map<ScoreMethod, ScoreTally>();
  private numErrors = 0;
  private bothAnswers = 0;
  private differentAnswers = 0;
  /** DocVQA's graded `anls`, reported beside symbolic_correct when rows carry it. */
  private anls = new RowScoreAccumulator();
  // Indexed by k (0 unused).
  private passNoAnswer!: Float64Array;
  private avgOfNoAnswer!: Float64Array;
  private majorityNoAnswer!: Float64Array;
  private stats!: Record<"reasoning_tokens" | "answer_tokens", RunStatisticsAccumulator>;

  /** One row: its records from each run, in the (sorted) order of the run files. */
  update(records: readonly RowRecord[]): void {
    const n = records.length;
    if (this.runs === 0) this.init(n);
    if (n !== this.runs) {
      throw new RangeError(`expected ${this.runs} runs per row, got ${n}: the run files do not line up`);
    }
    this.total++;

    let tokens = 0;
    let rowStart = Number.POSITIVE_INFINITY;
    let rowEnd = Number.NEGATIVE_INFINITY;
    const answers = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      if (r.tokens !== undefined) tokens += r.tokens;
      if (r.start !== undefined && r.start < rowStart) rowStart = r.start;
      if (r.end !== undefined && r.end > rowEnd) rowEnd = r.end;
      if (r.correct !== null && !r.errored) this.tally("symbolic_correct").shown = true;
      if (r.judge !== null && !r.errored) this.tally("judge_correct").shown = true;
      if (r.errored) this.numErrors++;
      if (r.answerMultichoice != null && r.answerOfficial != null) {
        this.bothAnswers++;
        if (r.answerMultichoice !== r.answerOfficial) this.differentAnswers++;
      }
      answers[i] = r.answer;
    }
    const symbolic = records.map((r) => (r.correct === true ? 1 : 0));
    this.tally("symbolic_correct").add(symbolic, answers, this.opts.majorityByAnswer);
    // Judge verdicts only cost where rows have them (NeMo-Skills fails on a file that mixes both).
    if (this.tallies.has("judge_correct")) this.addJudged(records, symbolic, answers);
    // As NeMo-Skills' try/except: a row with no start time counts neither its start nor its
    // end; a row with starts but no end counts its start.
    if (rowStart < Number.POSITIVE_INFINITY) {
      this.minStart = Math.min(this.minStart, rowStart);
      this.maxEnd = Math.max(this.maxEnd, rowEnd);
    }
    this.tokenSum += tokens / n;
    this.anls.update(
      records.map((r) => r.anls),
      answers,
    );

    let noAnswers = 0;
    for (let k = 1; k <= n; k++) {
      if (answers[k - 1] === null) noAnswers++;
      this.passNoAnswer[k]! += noAnswers === k ? 1 : 0;
      this.avgOfNoAnswer[k]! += noAnswers / k;
      if (k >= 2) this.majorityNoAnswer[k]! += noAnswers === k ? 1 : 0;
    }
    if (n >= 2) {
      this.stats.reasoning_tokens.add(records.map((r) => r.reasoningTokens));
      this.stats.answer_tokens.add(records.map((r) => r.answerTokens));
    }
  }

  private addJudged(records: readonly RowRecord[], symbolic: number[], answers: (string | null)[]): void {
    const judged = records.map((r) => (r.judge === true ? 1 : 0));
    const byAnswer = this.opts.majorityByAnswer;
    this.tally("judge_correct").add(judged, answers, byAnswer);
    this.tally("both_correct").add(
      symbolic.map((x, i) => x & judged[i]!),
      answers,
      byAnswer,
    );
    this.tally("any_correct").add(
      symbolic.map((x, i) => x | judged[i]!),
      answers,
      byAnswer,
    );
  }

  /** The verdicts shown, in NeMo-Skills' order (MathMetrics._get_score_dict). */
  private shownTallies(): Array<[ScoreMethod, ScoreTally]> {
    const symbolic = this.tallies.get("symbolic_correct")?.shown ?? false;
    const judge = this.tallies.get("judge_correct")?.shown ?? false;
    const shown = (m: ScoreMethod) =>
      m === "symbolic_correct" ? symbolic : m === "judge_correct" ? judge : symbolic && judge;
    return SCORE_METHODS.filter(shown).map((m) => [m, this.tallies.get(m)!]);
  }

  private tally(method: ScoreMethod): ScoreTally {
    let t = this.tallies.get(method);
    if (!t) {
      t = new ScoreTally(this.runs);
      this.tallies.set(method, t);
    }
    return t;
  }

  /** The modes, keyed and ordered as NeMo-Skills writes them; {} before any row. */
  metrics(): GroupMetrics {
    const out: GroupMetrics = {};
    if (this.total === 0) return out;
    const pct = (x: number) => (100 * x) / this.total;
    const tallies = this.shownTallies();
    const mode = (score: (t: ScoreTally) => number, noAnswer: number): ModeMetrics => {
      const m = this.common();
      for (const [method, t] of tallies) m[method] = pct(score(t));
      m.no_answer = pct(noAnswer);
      m.num_errors = this.numErrors;
      if (this.bothAnswers > 0) m.extractor_disagreement = (100 * this.differentAnswers) / this.bothAnswers;
      return m;
    };
    for (let k = 1; k <= this.runs; k++) {
      out[`pass@${k}`] = mode((t) => t.pass[k]!, this.passNoAnswer[k]!);
      if (k === 1) continue; // pass@1[avg-of-1] is pass@1; NeMo-Skills drops it
      const avg = mode((t) => t.avgOf[k]!, this.avgOfNoAnswer[k]!);
      avg.reasoning_tokens_statistics = { ...this.stats.reasoning_tokens.result(k) };
      avg.answer_tokens_statistics = { ...this.stats.answer_tokens.result(k) };
      for (const [method, t] of tallies) avg[`${method}_statistics`] = { ...t.stats.result(k) };
      out[`pass@1[avg-of-${k}]`] = avg;
    }
    for (let k = 2; k <= this.runs; k++) {
      out[`majority@${k}`] = mode((t) => t.majority[k]!, this.majorityNoAnswer[k]!);
    }
    for (const [name, m] of Object.entries(out)) {
      const anls = this.anls.result(name);
      if (anls !== undefined) m.anls = anls;
    }
    return out;
  }

  private common(): ModeMetrics {
    const m: ModeMetrics = { num_entries: this.total };
    const avgTokens = this.tokenSum / this.total;
    if (avgTokens > 0) m.avg_tokens = Math.trunc(avgTokens);
    if (this.maxEnd > Number.NEGATIVE_INFINITY && this.minStart < Number.POSITIVE_INFINITY) {
      m.gen_seconds = Math.trunc(this.maxEnd - this.minStart);
    }
    return m;
  }

  private init(runs: number): void {
    if (runs < 1) throw new RangeError("a row needs at least one run");
    this.runs = runs;
    const z = () => new Float64Array(runs + 1);
    this.passNoAnswer = z();
    this.avgOfNoAnswer = z();
    this.majorityNoAnswer = z();
    this.stats = {
      reasoning_tokens: new RunStatisticsAccumulator(runs),
      answer_tokens: new RunStatisticsAccumulator(runs),
    };
  }
}

/**
 * NeMo-Skills' score methods (MathMetrics._get_score_dict), in its order: `symbolic_correct`
 * from the rows, `judge_correct` from their `judgement` text, and with both, `both_correct` and
 * `any_correct`.
 */
const SCORE_METHODS = ["symbolic_correct", "judge_correct", "both_correct", "any_correct"] as const;
type ScoreMethod = (typeof SCORE_METHODS)[number];

/** One score method's sums over rows: pass@k, pass@1[avg-of-k], majority@k and its statistics. */
class ScoreTally {
  /** Some row carries this verdict (one made by a run that did not fail). */
  shown = false;
  // Indexed by k (0 unused).
  readonly pass: Float64Array;
  readonly avgOf: Float64Array;
  readonly majority: Float64Array;
  readonly stats: RunStatisticsAccumulator;

  constructor(private readonly runs: number) {
    this.pass = new Float64Array(runs + 1);
    this.avgOf = new Float64Array(runs + 1);
    this.majority = new Float64Array(runs + 1);
    this.stats = new RunStatisticsAccumulator(runs);
  }

  /** One row: its verdict (0/1) and answer in each run, in run order. */
  add(scores: readonly number[], answers: readonly (string | null)[], byAnswer?: boolean): void {
    const n = this.runs;
    let correct = 0;
    for (const x of scores) correct += x;
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      sum += scores[k - 1]!;
      this.pass[k]! += passAtK(n, correct, k);
      this.avgOf[k]! += sum / k;
      if (k >= 2) this.majority[k]! += majorityScore(answers.slice(0, k), scores.slice(0, k), byAnswer);
    }
    if (n >= 2) this.stats.add(scores);
  }
}
