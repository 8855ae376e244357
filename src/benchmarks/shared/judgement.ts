import { PY_WHITESPACE as WS } from "../mmmu/py-text.js";

// A plain "Judgement:" or markdown bold "**Judgement**:", in any case, with Python's white space
// around the colon, as NeMo-Skills matches it.
const JUDGEMENT = new RegExp(`\\*{0,2}Judgement\\*{0,2}[${WS}]*:[${WS}]*`, "i");

/**
 * An LLM judge's verdict, read as NeMo-Skills reads it (nemo_skills/evaluation/metrics/utils.py,
 * is_correct_judgement): after the first "Judgement:" (or "**Judgement**:"), the text stripped,
 * "yes..." is true and "no..." false, in any case. Null when there is no such verdict (NeMo-Skills'
 * metrics then count the row as judged wrong).
 */
export function judgementVerdict(judgement: string): boolean | null {
  const m = JUDGEMENT.exec(judgement);
  if (!m) return null;
  const verdict = judgement.slice(m.index + m[0].length, m.index + m[0].length + 3).toLowerCase();
  if (verdict.startsWith("yes")) return true;
  if (verdict.startsWith("no")) return false;
  return null;
}
