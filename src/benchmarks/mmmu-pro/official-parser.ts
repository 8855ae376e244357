/**
 * The MMMU-Pro authors' answer parser (`parse_multi_choice_response` in MMMU-Benchmark/MMMU
 * mmmu-pro/evaluate.py), kept rule for rule: each detail changes some rows' verdicts.
 * See shared/data/mmmu-pro-gpt4o/README.md for the statement this follows.
 */

import { type PyValue, parsePythonLiteral, pyRepr } from "../shared/python-literal.js";

export type OfficialParse = {
  /** The option letter. */
  answer: string;
  /** True when no rule matched and the letter was drawn at random (the official fallback). */
  fallback: boolean;
};

// Python's str.isspace() set: strip() and split() use it.
const WS = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const STRIP_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");
const WORD_RE = new RegExp(`[^${WS}]+`, "g");
// Stripped one after the other, in this order (so "B.'" keeps its ".").
const END_CHARS = [",", ".", "!", "?", ";", ":", "'"];

/**
 * The letter the official evaluator parses out of `response` for a question with these options.
 * `rng` draws the random fallback (the official code uses an unseeded `random.choice`).
 * Throws a RangeError for an empty option list (the official code fails there too).
 */
export function parseOfficial(response: string, options: string[], rng: () => number): OfficialParse {
  if (options.length === 0) throw new RangeError("parseOfficial needs at least one option");
  const letters = options.map((_, i) => String.fromCharCode(65 + i));

  // 1. The last "Answer:" (case-sensitive) naming exactly one letter anywhere after it.
  const at = response.lastIndexOf("Answer:");
  if (at !== -1) {
    const after = pyStrip(response.slice(at + "Answer:".length));
    const named = letters.filter((l) => after.includes(l));
    if (named.length === 1) return { answer: named[0]!, fallback: false };
  }

  let r = response;
  for (const ch of END_CHARS) r = stripChar(r, ch);
  r = ` ${r} `; // spaces so "A " and " A " can match at the ends

  // 2. Candidates in stages; a stage runs only when the ones before found nothing.
  let bracketed = false;
  let byText = false;
  let candidates = letters.filter((l) => r.includes(`(${l})`));
  if (candidates.length > 0) bracketed = true;
  if (candidates.length === 0) candidates = letters.filter((l) => r.includes(`${l} `));
  if (candidates.length === 0) candidates = letters.filter((l) => r.includes(`${l}.`));
  let lower: string | undefined;
  if (candidates.length === 0 && countWords(r) > 5) {
    lower = r.toLowerCase();
    const low = lower;
    candidates = letters.filter((_, i) => low.includes(options[i]!.toLowerCase()));
    byText = candidates.length > 0;
  }

  if (candidates.length === 0) {
    return { answer: letters[Math.floor(rng() * letters.length)]!, fallback: true };
  }
  if (candidates.length === 1) return { answer: candidates[0]!, fallback: false };

  // 3. Several: the one found last; ties (e.g. none found: -1) go to the first (numpy argmax).
  let best = candidates[0]!;
  let bestPos = Number.NEGATIVE_INFINITY;
  for (const l of candidates) {
    const pos = byText
      ? (lower ?? r.toLowerCase()).lastIndexOf(options[l.charCodeAt(0) - 65]!.toLowerCase())
      : bracketed
        ? r.lastIndexOf(`(${l})`)
        : r.lastIndexOf(` ${l} `);
    if (pos > bestPos) {
      bestPos = pos;
      best = l;
    }
  }
  return { answer: best, fallback: false };
}

/**
 * A row's options as a list of strings: a JSON array, or the Python-style string MMMU-Pro files
 * carry (`"['a', 'b']"`, written by Python's repr). Non-string items (a nested list in one MMMU-Pro
 * row) become their Python repr, so each still counts as one option. Null when it is neither.
 */
export function parseOptionsList(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.map(asOptionText);
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (!text.startsWith("[")) return null;
  const py = literalOrUndefined(text);
  if (Array.isArray(py)) return py.map(asOptionText);
  try {
    const json: unknown = JSON.parse(text);
    return Array.isArray(json) ? json.map(asOptionText) : null;
  } catch {
    return null;
  }
}

/**
 * A random generator seeded per row, so a row's fallback letter does not depend on the order rows
 * finish in: mulberry32 seeded with a 32-bit FNV-1a hash of `${seed}:${key}` and the reply
 * (`text`). The reply is in the seed so that the runs of a multi-seed eval, whose replies
 * differ, draw independently, as the reference's one generator does; with the row's key alone
 * every seed drew the same letter for a row, and pass@k over fallback rows fell to a single
 * draw's chance. Hashed on the first draw only (most rows never draw).
 */
export function rowRng(seed: number, key: string, text = ""): () => number {
  let a: number | undefined;
  return () => {
    a ??= fnv1a(text, fnv1a(`${seed}:${key}`, 0x811c9dc5));
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fnv1a(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function pyStrip(s: string): string {
  return s.replace(STRIP_RE, "");
}

function stripChar(s: string, ch: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s[a] === ch) a++;
  while (b > a && s[b - 1] === ch) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function countWords(s: string): number {
  WORD_RE.lastIndex = 0;
  let n = 0;
  while (WORD_RE.exec(s) !== null) if (++n > 5) break; // only "more than 5" matters
  return n;
}

function asOptionText(v: unknown): string {
  return typeof v === "string" ? v : pyRepr(v as PyValue);
}

/** The value of a Python literal, or undefined when `text` is not one the parser knows. */
function literalOrUndefined(text: string): PyValue | undefined {
  try {
    return parsePythonLiteral(text);
  } catch {
    return undefined;
  }
}
