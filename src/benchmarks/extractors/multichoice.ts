/**
 * NeMo-Skills' multiple-choice letter extraction (`eval_type=multichoice`:
 * nemo_skills/evaluation/evaluator/mcq.py with math_grader.extract_answer, relaxed mode, the default).
 *
 *   1. the answer text: `The final answer is (.+)$` (Python `re`, no MULTILINE: only on the last line),
 *      else the last `\boxed{...}` (brace-matched; `\boxed=` form too);
 *      its Arabic / Bengali / full-width A-D mapped to A-D, then stripped;
 *   2. a one-character answer text is the letter (upper-cased);
 *   3. else the last `Answer: X` in the whole generation (case-insensitive, markdown `**`/`__` allowed);
 *   4. else the last standalone capital letter of a longer answer text (`(C)`, `\text{A}`, ...);
 *   5. else null.
 * Steps 3 and 4 are in this order since NeMo-Skills issue #1511 (an explicit answer line beats a letter
 * inside a boxed formula). Python regex semantics are kept where they differ from JS: Unicode `\b` and
 * `\s`, `$` before a final newline, `.` that stops only at `\n`, str.strip()'s whitespace set.
 */

// Python's str.isspace() set (JS \s has U+FEFF and lacks U+001C..U+001F and U+0085).
const WS = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const STRIP_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");
// Applied to the last line only: Python's `$` without MULTILINE matches at the end or just before
// a final "\n", and `.` stops only at "\n", so a match can only sit on that line.
const FINAL_ANSWER_RE = /The final answer is ([^\n]+)$/;
const BOXED_EQ_FIRST_LINE_RE = /^[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*/;
const PERCENT_RE = /^(\p{Nd}+\.?\p{Nd}*)(?:\\%|%)$/u;
const TRAILING_DOT_BACKSLASH_RE = /[.\\]+$/;
const LOCAL_LETTERS_RE = /[أبجدঅবডঢＡＢＣＤ]/g;
const LOCAL_LETTERS: Record<string, string> = {
  "أ": " A", "ب": " B", "ج": " C", "د": " D",
  "অ": " A", "ব": " B", "ড": " C", "ঢ": " D",
  "Ａ": " A", "Ｂ": " B", "Ｃ": " C", "Ｄ": " D",
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

/** The answer letter NeMo-Skills' `multichoice` evaluator finds in a generation, or null. */
export function extractMultichoice(generation: string): string | null {
  const raw = searchRegex(generation) ?? searchBoxed(generation);
  const extracted = raw === null ? null : pyStrip(raw.replace(LOCAL_LETTERS_RE, (c) => LOCAL_LETTERS[c] ?? c));
  if (extracted !== null && codePointLength(extracted) === 1) return extracted.toUpperCase();

  const line = lastAnswerLine(generation);
  if (line !== null) return line;

  if (extracted !== null && extracted.length > 1) {
    let last: string | null = null;
    STANDALONE_CAPITAL_RE.lastIndex = 0;
    for (let m = STANDALONE_CAPITAL_RE.exec(extracted); m !== null; m = STANDALONE_CAPITAL_RE.exec(extracted)) last = m[0];
    if (last !== null) return last;
  }
  return null;
}

function searchRegex(text: string): string | null {
  const end = text.endsWith("\n") ? text.length - 1 : text.length;
  const lastLine = text.slice(text.lastIndexOf("\n", end - 1) + 1, end);
  const m = FINAL_ANSWER_RE.exec(lastLine);
  if (m === null) return null;
  const v = pyStrip(m[1] ?? "");
  return v === "" ? null : v;
}

/** The content of the last `\boxed{...}` (braces matched from `\boxed`), "" for `\boxed{}`. */
function searchBoxed(text: string): string | null {
  const idx = text.lastIndexOf("\\boxed");
  if (idx < 0) return null;

  const eq = text.lastIndexOf("\\boxed=");
  if (eq >= 0) {
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
