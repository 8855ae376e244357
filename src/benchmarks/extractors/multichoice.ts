/**
 * NeMo-Skills' multiple-choice letter extraction (`eval_type=multichoice`), as upstream main has it:
 * nemo_skills/evaluation/evaluator/mcq.py @ 5f85203b684e5b2d1880f88a43c9268685b6dbc6 with
 * nemo_skills/evaluation/math_grader.py (extract_answer, search_regex, search_boxed)
 * @ afab1e371e2f23293c99c7ec76754a5caae7a3a6. In the default relaxed mode:
 *
 *   1. the answer text: the last match of `extract_regex` (default `The final answer is (.+)$`, Python
 *      `re`: only on the last line), else the last `\boxed{...}` (brace-matched; `\boxed=` form too);
 *      with a list of regexes, each in turn until one gives a text;
 *      its Arabic / Bengali / full-width A-D mapped to A-D, then stripped;
 *   2. a one-character answer text is the letter (upper-cased);
 *   3. else the last standalone capital letter of a longer answer text (`(C)`, `\text{A}`, ...);
 *   4. else (only then) the last `Answer: X` in the whole generation (case-insensitive, markdown allowed);
 *   5. else null.
 * `answerLineFirst` (opt-in) swaps 3 and 4. Python regex semantics are kept where they differ from JS:
 * Unicode `\b` and `\s`, `$` before a final newline, `.` that stops only at `\n`, str.strip()'s set.
 */

import { compilePythonRegex, findallLast, PY_WHITESPACE as WS } from "./python-regex.js";

const STRIP_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");
// Applied to the last line only: Python's `$` without MULTILINE matches at the end or just before
// a final "\n", and `.` stops only at "\n", so a match can only sit on that line.
const FINAL_ANSWER_RE = /The final answer is ([^\n]+)$/;
const BOXED_EQ_FIRST_LINE_RE = /^[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*/;
const PERCENT_RE = /^(\p{Nd}+\.?\p{Nd}*)(?:\\%|%)$/u;
const TRAILING_DOT_BACKSLASH_RE = /[.\\]+$/;
const LOCAL_LETTERS_RE = /[أبجدঅবডঢＡＢＣＤ]/g;
const LOCAL_LETTERS: Record<string, string> = {
  أ: " A",
  ب: " B",
  ج: " C",
  د: " D",
  অ: " A",
  ব: " B",
  ড: " C",
  ঢ: " D",
  Ａ: " A",
  Ｂ: " B",
  Ｃ: " C",
  Ｄ: " D",
};
// Python `\b[A-Z]\b` on str patterns: word characters are Unicode letters, digits and "_".
const STANDALONE_CAPITAL_RE = /(?<![\p{L}\p{N}_])[A-Z](?![\p{L}\p{N}_])/gu;
// The Artificial Analysis answer-line pattern, `(?i)` and Unicode like Python's; Python's
// case-insensitive [A-Z] also takes the Turkish ı and İ, which JS case folding does not.
// Its optional leading `[*_]{0,2}` is left out: it never changes which letters are found.
const ANSWER_LINE_RE = new RegExp(
  `Answer[*_]{0,2}[${WS}]*:[${WS}*_]{0,2}[${WS}]*([A-Z\u0130\u0131])(?![a-zA-Z0-9\u0130\u0131])`,
  "giu",
);
const HAS_ANSWER_WORD_RE = /an[sſ]wer/i;

/**
 * How the letter is looked for: NeMo-Skills' MCQEvaluatorConfig (`extract_from_boxed`, `extract_regex`,
 * `relaxed`, settable per row or with `++eval_config.*`) plus vlmpipe's opt-in `answerLineFirst`.
 */
export type MultichoiceSettings = {
  /** Strict mode (relaxed false): true reads only the last `\boxed{}`, false only the regex. */
  extractFromBoxed: boolean;
  /** Python regexes, tried in order until one finds an answer text. */
  extractRegex: string | readonly string[];
  /** Relaxed (upstream's default): the regex first, then the last `\boxed{}`. */
  relaxed: boolean;
  /**
   * Opt-in, vlmpipe's (NeMo-Skills issue #1511, open PR #1526, not on upstream main): an `Answer: X`
   * line beats the last standalone capital of a longer answer text.
   */
  answerLineFirst: boolean;
};

export const DEFAULT_EXTRACT_REGEX = "The final answer is (.+)$";

export const DEFAULT_MULTICHOICE: MultichoiceSettings = {
  extractFromBoxed: true,
  extractRegex: DEFAULT_EXTRACT_REGEX,
  relaxed: true,
  answerLineFirst: false,
};

/** Where upstream raises (nothing after a final `\boxed=`, an empty regex list): vlmpipe records no answer. */
const UPSTREAM_CRASH = Symbol("upstream crash");

/**
 * The answer letter NeMo-Skills' `multichoice` evaluator finds in a generation, or null.
 * Throws PythonRegexError for an `extract_regex` that cannot be read.
 */
export function extractMultichoice(
  generation: string,
  settings: MultichoiceSettings = DEFAULT_MULTICHOICE,
): string | null {
  const raw = answerText(generation, settings);
  if (raw === UPSTREAM_CRASH) return null;
  const extracted = raw === null ? null : pyStrip(raw.replace(LOCAL_LETTERS_RE, (c) => LOCAL_LETTERS[c] ?? c));
  if (extracted !== null && codePointLength(extracted) === 1) return extracted.toUpperCase();

  if (settings.answerLineFirst) {
    const line = lastAnswerLine(generation);
    if (line !== null) return line;
  }
  if (extracted !== null && extracted.length > 1) {
    let last: string | null = null;
    STANDALONE_CAPITAL_RE.lastIndex = 0;
    for (let m = STANDALONE_CAPITAL_RE.exec(extracted); m !== null; m = STANDALONE_CAPITAL_RE.exec(extracted))
      last = m[0];
    if (last !== null) return last;
  }
  return settings.answerLineFirst ? null : lastAnswerLine(generation);
}

/** math_grader.extract_answer for each regex in turn, until one gives an answer text. */
function answerText(text: string, s: MultichoiceSettings): string | null | typeof UPSTREAM_CRASH {
  if (typeof s.extractRegex === "string") return extractAnswer(text, s, s.extractRegex);
  if (s.extractRegex.length === 0) return UPSTREAM_CRASH; // upstream main raises UnboundLocalError
  for (const regex of s.extractRegex) {
    const v = extractAnswer(text, s, regex);
    if (v !== null) return v;
  }
  return null;
}

function extractAnswer(text: string, s: MultichoiceSettings, regex: string): string | null | typeof UPSTREAM_CRASH {
  if (s.relaxed) return searchRegex(text, regex) ?? searchBoxed(text);
  return s.extractFromBoxed ? searchBoxed(text) : searchRegex(text, regex);
}

/** search_regex: the last findall item (a tuple's first non-empty group), stripped; null when empty. */
function searchRegex(text: string, regex: string): string | null {
  if (regex !== DEFAULT_EXTRACT_REGEX) {
    const last = findallLast(compilePythonRegex(regex), text);
    if (last === undefined) return null;
    const v = pyStrip(typeof last === "string" ? last : (last.find((g) => g !== "") ?? ""));
    return v === "" ? null : v;
  }
  // The default pattern, without the general translation (the common case, kept fast).
  const end = text.endsWith("\n") ? text.length - 1 : text.length;
  const lastLine = text.slice(text.lastIndexOf("\n", end - 1) + 1, end);
  const m = FINAL_ANSWER_RE.exec(lastLine);
  if (m === null) return null;
  const v = pyStrip(m[1] ?? "");
  return v === "" ? null : v;
}

/** The content of the last `\boxed{...}` (braces matched from `\boxed`), "" for `\boxed{}`. */
function searchBoxed(text: string): string | null | typeof UPSTREAM_CRASH {
  const idx = text.lastIndexOf("\\boxed");
  if (idx < 0) return null;

  const eq = text.lastIndexOf("\\boxed=");
  if (eq >= 0) {
    if (eq + 7 === text.length) return UPSTREAM_CRASH; // "".splitlines()[0] raises IndexError
    const first = BOXED_EQ_FIRST_LINE_RE.exec(text.slice(eq + 7))?.[0] ?? "";
    const v = additionalNormalization(pyStrip(first));
    return v === "" ? null : v;
  }

  let open = 0;
  for (let i = idx; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) open++;
    else if (c === 125 /* } */) {
      open--;
      if (open === 0) {
        const boxed = text.slice(idx, i + 1);
        return boxed.startsWith("\\boxed{") ? boxed.slice(7, -1) : null;
      }
    }
  }
  return null;
}

function additionalNormalization(expr: string): string {
  const m = PERCENT_RE.exec(expr);
  const v = m?.[1] ?? expr;
  return v.replace(TRAILING_DOT_BACKSLASH_RE, "");
}

function lastAnswerLine(text: string): string | null {
  if (!HAS_ANSWER_WORD_RE.test(text)) return null; // the common miss, without the slower scan
  let last: string | null = null;
  ANSWER_LINE_RE.lastIndex = 0; // a shared global regex: exec loops are twice as fast as matchAll
  for (let m = ANSWER_LINE_RE.exec(text); m !== null; m = ANSWER_LINE_RE.exec(text)) last = m[1] ?? null;
  return last === null ? null : pyStrip(last).toUpperCase();
}

function pyStrip(s: string): string {
  return s.replace(STRIP_RE, "");
}

function codePointLength(s: string): number {
  if (s.length > 2) return s.length; // only 1 vs more matters
  let n = 0;
  for (const _ of s) n++;
  return n;
}
