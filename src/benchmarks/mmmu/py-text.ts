/**
 * The few Python string and number semantics the MMMU authors' evaluation leans on, so that
 * the restated rules give the same answers as theirs: str.strip()/split() white space, float()
 * parsing, round(x, 2), and `re`'s Unicode \d and \b.
 */

// Python's str.isspace() set: strip() and split() use it, and `\s` of a str pattern matches it.
export const PY_WHITESPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WS = PY_WHITESPACE;
const STRIP_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");
const WORD_RE = new RegExp(`[^${WS}]+`, "g");

/** str.strip() */
export function pyStrip(s: string): string {
  return s.replace(STRIP_RE, "");
}

/** str.strip(ch) for one character. */
export function pyStripChar(s: string, ch: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s[a] === ch) a++;
  while (b > a && s[b - 1] === ch) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** len(s.split()) */
export function pyWordCount(s: string): number {
  WORD_RE.lastIndex = 0;
  let n = 0;
  while (WORD_RE.exec(s) !== null) n++;
  return n;
}

/** s.split(): the words between runs of Python's white space. */
export function pySplit(s: string): string[] {
  return s.match(WORD_RE) ?? [];
}

/** len(s): code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

// float() accepts digits with single underscores between them, an optional fraction and
// exponent, or inf / infinity / nan, any case, signed, with white space around.
const DIGITS = "\\d(?:_?\\d)*";
const FLOAT_RE = new RegExp(
  `^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)$`,
  "i",
);

/** Python's float(s), or null where it raises ValueError. Any script's decimal digits count, as in Python. */
export function pyFloat(s: string): number | null {
  const t = asciiDigits(pyStrip(s));
  if (!FLOAT_RE.test(t)) return null;
  const body = t.replaceAll("_", "");
  const lower = body.toLowerCase().replace(/^[+]/, "");
  if (lower.endsWith("nan")) return Number.NaN;
  if (lower.endsWith("inf") || lower.endsWith("infinity")) return lower.startsWith("-") ? -Infinity : Infinity;
  return Number(body);
}

const NON_ASCII_DIGIT = /(?![0-9])\p{Nd}/gu;
const IS_DIGIT = /^\p{Nd}$/u;
const digitValues = new Map<string, string>();

/**
 * Decimal digits of any script (Unicode Nd: full-width, Arabic-Indic, Devanagari...) as ASCII
 * ones. Unicode puts each script's digits 0-9 in a run of code points: a digit's value is its
 * place in its run of digits, counted from the run's start.
 */
function asciiDigits(s: string): string {
  if (!/[^\x00-\x7f]/.test(s)) return s;
  return s.replace(NON_ASCII_DIGIT, (d) => {
    let v = digitValues.get(d);
    if (v === undefined) {
      const cp = d.codePointAt(0)!;
      let start = cp;
      while (IS_DIGIT.test(String.fromCodePoint(start - 1))) start--;
      v = String((cp - start) % 10);
      digitValues.set(d, v);
    }
    return v;
  });
}

/**
 * round(x, 2): the double nearest to x rounded to 2 decimals on its exact binary value, with
 * exact ties to even. toFixed rounds the exact value too but sends ties up; a tie (x*100 exactly
 * k + 1/2) happens only when 8x is an odd integer.
 */
export function pyRound2(x: number): number {
  if (!Number.isFinite(x)) return x;
  const eighths = x * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths) % 2 === 1) {
    const lo = Math.floor(x * 100);
    const n = lo % 2 === 0 ? lo : lo + 1;
    return n / 100;
  }
  return Number(x.toFixed(2));
}

// `re` on str patterns: \d is any decimal digit, \w any letter, digit or "_".
const W = "[\\p{L}\\p{N}_]";
const B = `(?:(?<=${W})(?!${W})|(?<!${W})(?=${W}))`;
const D = "\\p{Nd}";

export const PY_RE = { B, D, W };
