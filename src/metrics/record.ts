import { judgementVerdict } from "../benchmarks/shared/judgement.js";
import { ErrorCodes } from "../errors.js";
import { pyFloatRepr } from "../util/py-float.js";
import { topLevelToken } from "./json-line.js";

/**
 * The few fields summarize keeps from an output line (the line itself is dropped at once, so
 * a 1,000,000-row file costs a record per row, never its generations).
 */
export type RowRecord = {
  /**
   * symbolic_correct's value as NeMo-Skills scores it: true 1, false 0, a number as it is (a graded
   * 0.5 stays 0.5); null when the line has none (or one that is not a boolean or a finite number). An
   * errored line is wrong (0).
   */
  symbolic: number | null;
  /** symbolic_correct as right or wrong (a non-zero value is right); null as `symbolic`. */
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
  /**
   * How NeMo-Skills' dict of subsets tells a numeric or boolean subset apart: by value, so `1`, `1.0`
   * and `true` are one subset (named as its first row names it). Unset for other subsets: the name.
   */
  subsetKey?: string;
  /** The line carries vlmpipe's own error object: the row failed in this run. */
  errored: boolean;
  /** predicted_answer_multichoice / predicted_answer_official, when the line has them. */
  answerMultichoice?: string | null;
  answerOfficial?: string | null;
  /** DocVQA's graded score in [0, 1], when the line has one. */
  anls?: number;
};

const OUR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/**
 * The record of one parsed output line (ours or NeMo-Skills'). `text`, the line as read, names a
 * numeric subset_for_metrics as Python does (`1.0` is a float there, the subset "1.0").
 */
export function toRecord(line: Record<string, unknown>, text?: string): RowRecord {
  const errored = isOurError(line.error);
  const tokens = num(line.num_generated_tokens);
  const reasoningTokens = num(line.num_reasoning_tokens) ?? 0;
  let answerTokens = num(line.num_answer_tokens) ?? 0;
  // NeMo-Skills counts all tokens as answer tokens when there is no split.
  if (reasoningTokens === 0 && answerTokens === 0 && tokens !== undefined) answerTokens = tokens;

  const symbolic = errored ? 0 : verdict(line.symbolic_correct);
  const rec: RowRecord = {
    symbolic,
    correct: symbolic === null ? null : symbolic !== 0,
    judge: errored ? false : "judgement" in line ? judgementVerdict(String(line.judgement)) === true : null,
    answer: errored
      ? null
      : answerKey(line.predicted_answer, scalarToken(line.predicted_answer, text, "predicted_answer")),
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
  if ("subset_for_metrics" in line) {
    const v = line.subset_for_metrics;
    const token = scalarToken(v, text, "subset_for_metrics");
    rec.subset = subsetName(v, token);
    if (typeof v === "number" || typeof v === "boolean" || isNonFinite(token)) rec.subsetKey = pyNumberKey(v, token);
  }
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

/**
 * Python's str() of a JSON scalar, as NeMo-Skills' `f"{benchmark}-{subset}"` prints it. A number is
 * named from its text in the line when there is one: with a `.` or an exponent it is a float
 * (`1.0`, `2e3` -> `2000.0`, `-0.0`), else an int of any size; a `NaN` read as null is `nan`.
 */
function subsetName(v: unknown, token: string | undefined): string {
  if (token !== undefined) {
    if (/^-?\d+$/.test(token)) return BigInt(token).toString();
    if (token === "NaN") return "nan";
    if (token === "Infinity" || token === "-Infinity") return token === "Infinity" ? "inf" : "-inf";
    return pyFloatRepr(Number(token));
  }
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * The text of a top-level number in the line (`1.0`, `9007199254740993`, a bare `NaN` that was read
 * as null), where the parsed value loses what Python keeps; undefined for any other value.
 */
function scalarToken(v: unknown, text: string | undefined, key: string): string | undefined {
  if (text === undefined) return undefined;
  if (typeof v === "number") return topLevelToken(text, key);
  if (v !== null || !(text.includes("NaN") || text.includes("Infinity"))) return undefined;
  const token = topLevelToken(text, key);
  return isNonFinite(token) ? token : undefined;
}

function isNonFinite(token: string | undefined): boolean {
  return token === "NaN" || token === "Infinity" || token === "-Infinity";
}

/**
 * A number or boolean as a key equal where Python's `==` and hash are (a dict's or Counter's key):
 * `true`, `1` and `1.0` are one key, `false`, `0`, `-0.0` another; an int is exact at any size
 * (`9007199254740993` is not `9007199254740992.0`, which Python compares exactly); a float that is a
 * whole number equals that int. `NaN` is one key: json.loads gives every `NaN` the same object,
 * which a dict finds by identity. `token` is the number's text in the line (see scalarToken).
 */
export function pyNumberKey(v: unknown, token?: string): string {
  if (token !== undefined) {
    if (/^-?\d+$/.test(token)) return `\u0000${BigInt(token)}`;
    if (isNonFinite(token)) return `\u0000${token}`;
  }
  if (typeof v === "boolean") return v ? "\u00001" : "\u00000";
  const x = v as number;
  if (!Number.isFinite(x)) return `\u0000${Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity"}`;
  return `\u0000${Number.isInteger(x) ? BigInt(x) : x}`;
}

/** A verdict's value: a boolean as 1 or 0, a finite number as it is; anything else is no verdict. */
function verdict(v: unknown): number | null {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return null;
}

/**
 * predicted_answer as a vote key: a string as it is; a number or boolean as Python's Counter keys it
 * (pyNumberKey: `1`, `1.0` and `true` are one vote, `5` and `"5"` two); a list or object by its JSON
 * text (NeMo-Skills' Counter raises TypeError on such an unhashable answer when a row has several
 * runs); null for no answer. `token`: the number's text in the line (see scalarToken).
 */
function answerKey(v: unknown, token?: string): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || isNonFinite(token)) return pyNumberKey(v, token);
  if (v === undefined || v === null) return null;
  return `\u0000${JSON.stringify(v)}`;
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
