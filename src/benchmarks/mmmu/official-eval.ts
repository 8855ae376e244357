/**
 * The MMMU authors' answer parsing and judging (MMMU-Benchmark/MMMU, eval/eval_utils.py at
 * bb91f232, the same rules as mmmu/utils/eval_utils.py: parse_multi_choice_response,
 * parse_open_response, eval_multi_choice, eval_open), restated rule for rule: each detail moves
 * some rows' verdicts. Their random fallback (`random.choice` from Python's one generator, seeded
 * with 42 once on import, so a row's letter depends on every draw before it in the run) is drawn
 * from a per-row seeded generator here and flagged, so a row's letter does not depend on row order.
 */
import { PY_RE, pyFloat, pyLen, pyRound2, pyStrip, pyStripChar, pyWordCount } from "./py-text.js";

export type McParse = { answer: string; fallback: boolean };
/** A parsed open answer: normalised strings (lower case) and numbers (rounded to 2 decimals). */
export type OpenPred = string | number;

const END_CHARS = [",", ".", "!", "?", ";", ":", "'"];

/**
 * The option letter the authors' parser reads in `response`. `index2ans` in the order the
 * authors' dict has it (A, B, ... as built from the options). `rng` draws the fallback.
 */
export function parseMultiChoice(
  response: string,
  allChoices: readonly string[],
  index2ans: Readonly<Record<string, string>>,
  rng: () => number,
): McParse {
  let r = response;
  for (const ch of END_CHARS) r = pyStripChar(r, ch);
  r = ` ${r} `; // so that " A " matches at either end

  let bracketed = false;
  let byText = false;
  let candidates = allChoices.filter((c) => r.includes(`(${c})`));
  if (candidates.length > 0) bracketed = true;
  if (candidates.length === 0) candidates = allChoices.filter((c) => r.includes(` ${c} `));
  let lower: string | undefined;
  if (candidates.length === 0 && pyWordCount(r) > 5) {
    const low = (lower = r.toLowerCase());
    candidates = Object.keys(index2ans).filter((k) => low.includes(String(index2ans[k]).toLowerCase()));
    byText = candidates.length > 0;
  }
  if (candidates.length === 0) {
    if (allChoices.length === 0) throw new RangeError("parseMultiChoice needs at least one choice");
    return { answer: allChoices[Math.floor(rng() * allChoices.length)]!, fallback: true };
  }
  if (candidates.length === 1) return { answer: candidates[0]!, fallback: false };

  // Several: the one written last (numpy argmax: the first of equal positions).
  let best = candidates[0]!;
  let bestPos = Number.NEGATIVE_INFINITY;
  for (const c of candidates) {
    const pos = byText
      ? lower!.lastIndexOf(String(index2ans[c]).toLowerCase())
      : bracketed
        ? r.lastIndexOf(`(${c})`)
        : r.lastIndexOf(` ${c} `);
    if (pos > bestPos) {
      bestPos = pos;
      best = c;
    }
  }
  return { answer: best, fallback: false };
}

const INDICATORS = ["could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result "];
const TRIVIAL = new Set([":", ",", ".", "!", "?", ";", "'"]);
// Applied to lower-cased text, so the look-ahead for a capital never matches: lines it is.
const SENTENCE_SPLIT_RE = /\.\s(?=[A-Z])|\n/u;

/** The tails of the response's lines that follow an answer-like word ("is ", "so ", "=" ...). */
function keySubresponses(response: string): string[] {
  const text = pyStripChar(pyStrip(response), ".").toLowerCase();
  const lines = text.split(SENTENCE_SPLIT_RE);
  const keys: string[] = [];
  lines.forEach((line, i) => {
    const indicators = i === lines.length - 1 ? [...INDICATORS, "="] : INDICATORS;
    let shortest: string | null = null;
    for (const ind of indicators) {
      const at = line.lastIndexOf(ind);
      if (at === -1) continue;
      const tail = pyStrip(line.slice(at + ind.length));
      // An empty tail is falsy in Python: the next indicator replaces it whatever its length.
      if (!shortest || pyLen(tail) < pyLen(shortest)) shortest = tail;
    }
    if (shortest && !TRIVIAL.has(pyStrip(shortest))) keys.push(shortest);
  });
  return keys.length === 0 ? [text] : keys;
}

const { B, D } = PY_RE;
const NUM_COMMAS_RE = new RegExp(`-?${B}${D}{1,3}(?:,${D}{3})+${B}`, "gu");
const NUM_SCIENTIFIC_RE = new RegExp(`-?${D}+(?:\\.${D}+)?[eE][+-]?${D}+`, "gu");
const NUM_SIMPLE_RE = new RegExp(`-?(?:${D}+\\.${D}+|\\.${D}+|${D}+${B})(?![eE][+-]?${D}+)(?![,${D}])`, "gu");

/** Every number written in `s`: with thousands commas, in scientific notation, then plain. */
export function extractNumbers(s: string): string[] {
  return [...(s.match(NUM_COMMAS_RE) ?? []), ...(s.match(NUM_SCIENTIFIC_RE) ?? []), ...(s.match(NUM_SIMPLE_RE) ?? [])];
}

/** A number (commas dropped, 2 decimals) or the lower-cased text; one-letter text padded both ways. */
export function normalizeAnswer(s: string): OpenPred[] {
  const t = pyStrip(s);
  const n = pyFloat(t.replaceAll(",", ""));
  if (n !== null) return [pyRound2(n)];
  const low = t.toLowerCase();
  return pyLen(low) === 1 ? [` ${low}`, `${low} `] : [low];
}

/** The authors' parse of an open answer: key phrases and the numbers in them, normalised, unique. */
export function parseOpen(response: string): OpenPred[] {
  const keys = keySubresponses(response);
  const all: string[] = [...keys];
  for (const k of keys) all.push(...extractNumbers(k));
  const seen = new Set<string>();
  const out: OpenPred[] = [];
  for (const p of all.flatMap(normalizeAnswer)) {
    const id = typeof p === "number" ? `n${p}` : `s${p}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(p);
  }
  // Python's set order is arbitrary: numbers first, then text, each sorted, for stable files.
  return out.sort((a, b) => (typeof a === typeof b ? (a < b ? -1 : a > b ? 1 : 0) : typeof a === "number" ? -1 : 1));
}

/** eval_multi_choice: the letter equals the answer (or one of a list of answers). */
export function judgeMultiChoice(gold: string | readonly string[], pred: string): boolean {
  return Array.isArray(gold) ? gold.includes(pred) : gold === pred;
}

/**
 * eval_open: a parsed number equal to a normalised numeric answer, or a parsed string that
 * contains a normalised text answer.
 */
export function judgeOpen(gold: string | readonly string[], preds: readonly OpenPred[]): boolean {
  const answers = (Array.isArray(gold) ? gold : [gold as string]).flatMap((a) => normalizeAnswer(String(a)));
  for (const p of preds) {
    if (typeof p === "string") {
      if (answers.some((a) => typeof a === "string" && p.includes(a))) return true;
    } else if (answers.some((a) => a === p)) {
      return true;
    }
  }
  return false;
}
