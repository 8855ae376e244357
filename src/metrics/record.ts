/**
 * The few fields summarize keeps from an output line (the line itself is dropped at once, so
 * a 1,000,000-row file costs a record per row, never its generations).
 */
export type RowRecord = {
  /** symbolic_correct; null when the line has none. An errored line is wrong (false). */
  correct: boolean | null;
  /** predicted_answer as a vote key; null = no answer (also for an errored line). */
  answer: string | null;
  /** num_generated_tokens, when a number. */
  tokens?: number;
  /** NeMo-Skills' token split: num_reasoning_tokens, num_answer_tokens (all tokens when not split). */
  reasoningTokens: number;
  answerTokens: number;
  /** generation_start_time / generation_end_time in seconds. */
  start?: number;
  end?: number;
  subset?: string;
  /** The line carries an `error`: the row failed in this run. */
  errored: boolean;
  /** predicted_answer_multichoice / predicted_answer_official, when the line has them. */
  answerMultichoice?: string | null;
  answerOfficial?: string | null;
  /** DocVQA's graded score in [0, 1], when the line has one. */
  anls?: number;
};

/** The record of one parsed output line (ours or NeMo-Skills'). */
export function toRecord(line: Record<string, unknown>): RowRecord {
  const errored = line.error !== undefined && line.error !== null && line.error !== false;
  const tokens = num(line.num_generated_tokens);
  const reasoningTokens = num(line.num_reasoning_tokens) ?? 0;
  let answerTokens = num(line.num_answer_tokens) ?? 0;
  // NeMo-Skills counts all tokens as answer tokens when there is no split.
  if (reasoningTokens === 0 && answerTokens === 0 && tokens !== undefined) answerTokens = tokens;

  const rec: RowRecord = {
    correct: errored ? false : verdict(line.symbolic_correct),
    answer: errored ? null : answerKey(line.predicted_answer),
    reasoningTokens,
    answerTokens,
    errored,
  };
  if (tokens !== undefined) rec.tokens = tokens;
  const start = time(line.generation_start_time);
  const end = time(line.generation_end_time);
  if (start !== undefined) rec.start = start;
  if (end !== undefined) rec.end = end;
  const subset = line.subset_for_metrics;
  if (subset !== undefined && subset !== null) rec.subset = String(subset);
  if ("predicted_answer_multichoice" in line) rec.answerMultichoice = answerKey(line.predicted_answer_multichoice);
  if ("predicted_answer_official" in line) rec.answerOfficial = answerKey(line.predicted_answer_official);
  const anls = num(line.anls);
  if (anls !== undefined && !errored) rec.anls = anls;
  return rec;
}

function verdict(v: unknown): boolean | null {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  return null;
}

// Answers vote by value; a non-string answer (NeMo math rows may hold numbers) keeps its JSON
// text, marked so that 5 and "5" stay different votes as they are in Python.
function answerKey(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? v : `\u0000${JSON.stringify(v)}`;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function time(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string") {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms / 1000;
  }
  return undefined;
}
