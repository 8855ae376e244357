import type { Extracted } from "../eval-types.js";
import { rowRng } from "../mmmu-pro/official-parser.js";
import { parsePythonStringList } from "../shared/python-literal.js";
import { judgeMultiChoice, judgeOpen, parseMultiChoice, parseOpen } from "./official-eval.js";

/**
 * `--eval_type mmmu-official`: the MMMU authors' parse and verdict for one row, multiple-choice
 * or open by `question_type` (their files: `multiple-choice`, `short-answer`; the dataset:
 * `multiple-choice`, `open`). Choices come from `all_choices` + `index2ans` (the authors' output
 * files) or from `options`; the answer from `expected_answer` (a list, or the dataset's Python
 * list text, is a set of acceptable answers). Sets predicted_answer (a letter, or the parsed
 * list of an open answer), symbolic_correct (when the row has an answer) and, when the letter was
 * drawn, official_random_fallback. A multiple-choice row without choices has no answer (the eval
 * type refuses such rows first).
 */
export type MmmuInput = { row: Record<string, unknown>; generation: string | null; key: string; seed: number };

export function evaluateMmmu({ row, generation, key, seed }: MmmuInput): Extracted {
  const gold = goldOf(row.expected_answer);
  const verdict = (right: boolean) => (gold === null ? undefined : { symbolic_correct: right });
  if (row.question_type !== "multiple-choice") {
    if (generation === null) return { answer: null, verdict: verdict(false) };
    const preds = parseOpen(generation);
    return { answer: preds, verdict: gold === null ? undefined : { symbolic_correct: judgeOpen(gold, preds) } };
  }
  const choices = choicesOf(row);
  if (choices === null || generation === null) return { answer: null, verdict: verdict(false) };
  const parsed = parseMultiChoice(generation, choices.all, choices.index2ans, rowRng(seed, key, generation));
  // false only over a stale flag the re-scored row carries
  const fields =
    parsed.fallback || "official_random_fallback" in row ? { official_random_fallback: parsed.fallback } : undefined;
  return {
    answer: parsed.answer,
    fields,
    verdict: gold === null ? undefined : { symbolic_correct: judgeMultiChoice(gold, parsed.answer) },
  };
}

function goldOf(v: unknown): string | string[] | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(String);
  const s = String(v);
  if (s.startsWith("[")) {
    try {
      return parsePythonStringList(s);
    } catch {
      // a text that only starts like a list
    }
  }
  return s;
}

type Choices = { all: string[]; index2ans: Record<string, string> };

export function choicesOf(row: Record<string, unknown>): Choices | null {
  const { all_choices: all, index2ans } = row;
  if (Array.isArray(all) && index2ans !== null && typeof index2ans === "object" && !Array.isArray(index2ans)) {
    const map = Object.fromEntries(Object.entries(index2ans).map(([k, v]) => [k, String(v)]));
    return { all: all.map(String), index2ans: map };
  }
  let options: string[] | null = null;
  if (Array.isArray(row.options)) options = row.options.map(String);
  else if (typeof row.options === "string") {
    try {
      options = parsePythonStringList(row.options);
    } catch {
      options = null;
    }
  }
  if (options === null || options.length === 0) return null;
  const letters = options.map((_, i) => String.fromCharCode(65 + i));
  return { all: letters, index2ans: Object.fromEntries(letters.map((l, i) => [l, options![i]!])) };
}
