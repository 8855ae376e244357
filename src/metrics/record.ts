import { judgementVerdict } from "../benchmarks/shared/judgement.js";
import { ErrorCodes } from "../errors.js";

/**
 * The few fields summarize keeps from an output line (the line itself is dropped at once, so
 * a 1,000,000-row file costs a record per row, never its generations).
 */
export type RowRecord = {
  /** symbolic_correct; null when the line has none. An errored line is wrong (false). */
  correct: boolean | null;
  /**
   * The verdict of the line's `judgement` (an LLM judge's text) as NeMo-Skills reads it: a text
   * without one is wrong (false); null when the line has no `judgement`. An errored line is wrong.
   */
  judge: boolean | null;
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
  /** The line carries vlmpipe's own error object: the row failed in this run. */
  errored: boolean;
  /** predicted_answer_multichoice / predicted_answer_official, when the line has them. */
  answerMultichoice?: string | null;
  answerOfficial?: string | null;
  /** DocVQA's graded score in [0, 1], when the line has one. */
  anls?: number;
};

const OUR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** The record of one parsed output line (ours or NeMo-Skills'). */
export function toRecord(line: Record<string, unknown>): RowRecord {
  const errored = isOurError(line.error);
  const tokens = num(line.num_generated_tokens);
  const reasoningTokens = num(line.num_reasoning_tokens) ?? 0;
  let answerTokens = num(line.num_answer_tokens) ?? 0;
  // NeMo-Skills counts all tokens as answer tokens when there is no split.
  if (reasoningTokens === 0 && answerTokens === 0 && tokens !== undefined) answerTokens = tokens;

  const rec: RowRecord = {
    correct: errored ? false : verdict(line.symbolic_correct),
    judge: errored ? false : "judgement" in line ? judgementVerdict(String(line.judgement)) === true : null,
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
  // NeMo-Skills groups by the value as is: `null` is its own subset, named `<benchmark>-None`.
  if ("subset_for_metrics" in line) rec.subset = pyStr(line.subset_for_metrics);
  if ("predicted_answer_multichoice" in line) rec.answerMultichoice = answerKey(line.predicted_answer_multichoice);
  if ("predicted_answer_official" in line) rec.answerOfficial = answerKey(line.predicted_answer_official);
  const anls = num(line.anls);
  if (anls !== undefined && !errored) rec.anls = anls;
  return rec;
}

/**
 * A failed row is one with vlmpipe's own error object (`{code: "VLM_E_...", ...}`); a foreign `error`
 * field is data, which NeMo-Skills ignores, and so does this.
 */
function isOurError(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && OUR_CODES.has(code);
}

/** Python's str() of a JSON scalar, as NeMo-Skills' `f"{benchmark}-{subset}"` prints it. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  return typeof v === "string" ? v : JSON.stringify(v);
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
