import { type OperatorFunction, map } from "rxjs";
import type { Sample } from "../types.js";

const SINGLE_LETTER_RE = /^[A-Za-z]$/;

/**
 * Sets `out.symbolic_correct`: the predicted answer (`out.predicted_answer`, else the re-scored
 * row's) is not null and equals `row.expected_answer` once both are trimmed and single letters
 * upper-cased. Rows without an expected answer get no verdict, rows already judged (out.symbolic_correct
 * set by a benchmark's eval type) keep theirs. Samples with `error` pass through.
 *
 *   score() : predicted_answer "b", expected_answer "B " -> symbolic_correct true
 */
export function score(): OperatorFunction<Sample, Sample> {
  return map((s) => {
    if (s.error) return s;
    // An eval type that judges by its benchmark's own rules (mmmu-official, anls, ...) has set it.
    if ("symbolic_correct" in s.out) return s;
    const expected = s.row.expected_answer;
    if (expected === undefined || expected === null) return s;
    const predicted = "predicted_answer" in s.out ? s.out.predicted_answer : s.row.predicted_answer;
    const correct = predicted !== undefined && predicted !== null && normalise(predicted) === normalise(expected);
    return { ...s, out: { ...s.out, symbolic_correct: correct } };
  });
}

function normalise(v: unknown): string {
  const t = (typeof v === "string" ? v : String(v)).trim();
  return SINGLE_LETTER_RE.test(t) ? t.toUpperCase() : t;
}
