import type { RowRecord } from "./record.js";
import { RowScoreAccumulator } from "./row-score.js";
import { RunStatisticsAccumulator } from "./run-statistics.js";
import { ScoreTally } from "./score-tally.js";
import type { GroupMetrics, ModeMetrics } from "./types.js";

/**
 * The metrics of one benchmark or subset, fed one row at a time (its records from every run, in
 * file order), with NeMo-Skills' definitions and float bits (nemo_skills/evaluation/metrics/base.py,
 * MathMetrics):
 * - score methods (MathMetrics._get_score_dict): symbolic_correct; judge_correct from `judgement`;
 *   with both, both_correct (`s and j`) and any_correct (`s or j`). A row counts for a method only
 *   when its first run's line carries it (`score_dicts[0].keys()`); otherwise the row is left out
 *   of that method (not in its statistics either) but stays in num_entries and the denominators;
 * - pass@k: for a row of 0/1 verdicts the unbiased estimator over all n runs, else the best of the
 *   first k (a graded 0.5 stays 0.5); pass@1[avg-of-k]: the mean of the first k runs, with
 *   `<method>_statistics` (RunStatisticsAccumulator);
 * - majority@k (k >= 2): see majorityScore, over the first k runs;
 * - no_answer: pass@k: all first k runs have no answer; avg-of-k: their share; majority@k: all none;
 * - num_entries (rows), avg_tokens (mean over rows of the mean over runs, truncated),
 *   gen_seconds (last end - first start, truncated; a row's end times count only when it has a start time).
 * Each sum is built row after row, as NeMo-Skills' `+=` builds it. The keys of a mode keep NeMo-Skills'
 * insertion order: the methods of the first row, no_answer, then methods first seen in later rows.
 * Beyond NeMo-Skills (which has no failed rows): a run whose line carries vlmpipe's own error object
 * is a wrong answer and no answer for every method the benchmark has (it stays in the denominator, so
 * numbers compare with NeMo-Skills'; a row whose first run failed counts for every method, also one
 * first seen in a later row), and `num_errors` counts such lines; `extractor_disagreement` is the
 * share of lines with both extractors' answers where they differ. Both keys are vlmpipe's additions.
 */
export class MetricsAccumulator {
  /** `majorityByAnswer`: vlmpipe's opt-in vote by answer alone (see majorityScore). */
  constructor(private readonly opts: { majorityByAnswer?: boolean } = {}) {}

  private runs = 0;
  private total = 0;
  private tokenSum = 0;
  private minStart = Number.POSITIVE_INFINITY;
  private maxEnd = Number.NEGATIVE_INFINITY;
  /** The methods some row counts for, each with its sums. */
  private readonly tallies = new Map<ScoreMethod, ScoreTally>();
  /**
   * Rows whose first run failed, kept until all four methods are seen: such a row counts for a
   * method first seen after it too. Only the row's index when every run failed (its verdicts are all
   * 0 and it has no answers), else its records: a small object per such row.
   */
  private pending: PendingRow[] = [];
  /** Failed lines among each row's first k runs, summed over rows (index k; 0 unused). */
  private errorsInFirst!: Float64Array;
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
    const row = this.total++;

    let tokens = 0;
    let rowStart = Number.POSITIVE_INFINITY;
    let rowEnd = Number.NEGATIVE_INFINITY;
    const answers = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      if (r.tokens !== undefined) tokens += r.tokens;
      if (r.start !== undefined && r.start < rowStart) rowStart = r.start;
      if (r.end !== undefined && r.end > rowEnd) rowEnd = r.end;
      if (r.answerMultichoice != null && r.answerOfficial != null) {
        this.bothAnswers++;
        if (r.answerMultichoice !== r.answerOfficial) this.differentAnswers++;
      }
      answers[i] = r.answer;
    }
    this.score(row, records, answers);
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
    let errors = 0;
    for (let k = 1; k <= n; k++) {
      if (answers[k - 1] === null) noAnswers++;
      if (records[k - 1]!.errored) errors++;
      this.errorsInFirst[k]! += errors;
      this.passNoAnswer[k]! += noAnswers === k ? 1 : 0;
      this.avgOfNoAnswer[k]! += noAnswers / k;
      if (k >= 2) this.majorityNoAnswer[k]! += noAnswers === k ? 1 : 0;
    }
    if (n >= 2) {
      this.stats.reasoning_tokens.add(records.map((r) => r.reasoningTokens));
      this.stats.answer_tokens.add(records.map((r) => r.answerTokens));
    }
  }

  /**
   * The row's verdicts into the methods it counts for: those its first run's line carries, or, when
   * that run failed, every method (the ones a later row shows first get it when they appear).
   */
  private score(row: number, records: readonly RowRecord[], answers: readonly (string | null)[]): void {
    const first = records[0]!;
    const carrier = first.errored ? records.find((r) => !r.errored) : first;
    const methods = carrier === undefined ? [] : methodsOf(carrier);
    for (const m of methods) this.declare(m);
    const byAnswer = this.opts.majorityByAnswer;
    if (!first.errored) {
      for (const m of methods) this.tallies.get(m)!.add(row, verdicts(records, m), answers, byAnswer);
      return;
    }
    for (const [m, t] of this.tallies) t.add(row, verdicts(records, m), answers, byAnswer);
    if (this.tallies.size < SCORE_METHODS.length) {
      this.pending.push(records.every((r) => r.errored) ? { row } : { row, records, answers });
    }
  }

  /** A method's first row: its tally starts with the failed-first-run rows before it, in row order. */
  private declare(method: ScoreMethod): void {
    if (this.tallies.has(method)) return;
    const t = new ScoreTally(this.runs);
    const none = new Array<string | null>(this.runs).fill(null);
    const zeros = new Float64Array(this.runs);
    for (const p of this.pending) {
      t.add(p.row, p.records ? verdicts(p.records, method) : zeros, p.answers ?? none, this.opts.majorityByAnswer);
    }
    this.tallies.set(method, t);
    if (this.tallies.size === SCORE_METHODS.length) this.pending = [];
  }

  /** The modes, keyed and ordered as NeMo-Skills writes them; {} before any row. */
  metrics(): GroupMetrics {
    const out: GroupMetrics = {};
    if (this.total === 0) return out;
    const pct = (x: number) => (100 * x) / this.total;
    // NeMo-Skills' insertion order: the first row's methods (in _get_score_dict's order), no_answer,
    // then each method at its first row.
    const tallies = [...this.tallies]
      .map(([method, t]) => ({ method, t }))
      .sort((a, b) => a.t.firstRow - b.t.firstRow || SCORE_METHODS.indexOf(a.method) - SCORE_METHODS.indexOf(b.method));
    // A mode's failed lines are those of the runs it reads: pass@k's estimator reads all n runs,
    // pass@1[avg-of-k] and majority@k the first k.
    const mode = (score: (t: ScoreTally) => number, noAnswer: number, runsRead: number): ModeMetrics => {
      const m = this.common();
      for (const { method, t } of tallies) if (t.firstRow === 0) m[method] = pct(score(t));
      m.no_answer = pct(noAnswer);
      for (const { method, t } of tallies) if (t.firstRow > 0) m[method] = pct(score(t));
      m.num_errors = this.errorsInFirst[runsRead]!;
      if (this.bothAnswers > 0) m.extractor_disagreement = (100 * this.differentAnswers) / this.bothAnswers;
      return m;
    };
    for (let k = 1; k <= this.runs; k++) {
      out[`pass@${k}`] = mode((t) => t.pass[k]!, this.passNoAnswer[k]!, this.runs);
      if (k === 1) continue; // pass@1[avg-of-1] is pass@1; NeMo-Skills drops it
      const avg = mode((t) => t.avgOf[k]!, this.avgOfNoAnswer[k]!, k);
      avg.reasoning_tokens_statistics = { ...this.stats.reasoning_tokens.result(k) };
      avg.answer_tokens_statistics = { ...this.stats.answer_tokens.result(k) };
      for (const { method, t } of tallies) avg[`${method}_statistics`] = { ...t.stats.result(k) };
      out[`pass@1[avg-of-${k}]`] = avg;
    }
    for (let k = 2; k <= this.runs; k++) {
      out[`majority@${k}`] = mode((t) => t.majority[k]!, this.majorityNoAnswer[k]!, k);
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
    this.errorsInFirst = z();
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

type PendingRow = { row: number; records?: readonly RowRecord[]; answers?: readonly (string | null)[] };

/** The methods a (not failed) run's line carries, as _get_score_dict's keys. */
function methodsOf(r: RowRecord): ScoreMethod[] {
  const out: ScoreMethod[] = [];
  if (r.symbolic !== null) out.push("symbolic_correct");
  if (r.judge !== null) out.push("judge_correct");
  if (r.symbolic !== null && r.judge !== null) out.push("both_correct", "any_correct");
  return out;
}

/**
 * One method's verdict in each run, as _get_score_dict computes it: both_correct is Python's
 * `s and j` (s when s is 0, else j), any_correct `s or j` (s when s is not 0, else j). A failed run
 * is 0 for every method; a run whose line lacks the verdict (NeMo-Skills raises KeyError) is 0 too.
 */
function verdicts(records: readonly RowRecord[], method: ScoreMethod): Float64Array {
  const out = new Float64Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.errored) continue;
    out[i] = verdict(method, r.symbolic ?? 0, r.judge === true ? 1 : 0);
  }
  return out;
}

function verdict(method: ScoreMethod, s: number, j: number): number {
  switch (method) {
    case "symbolic_correct":
      return s;
    case "judge_correct":
      return j;
    case "both_correct":
      return s === 0 ? s : j;
    case "any_correct":
      return s !== 0 ? s : j;
  }
}
