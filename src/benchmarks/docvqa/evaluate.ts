import type { AnswerInput, Extracted } from "../eval-types.js";
import { goldAnswers } from "../shared/gold-answers.js";
import type { ReadAnswer } from "../shared/short-answer.js";
import { anls } from "./anls.js";

/**
 * `--eval_type anls` (the reply is the answer) or `anls-answer-line` (the answer line of a longer
 * reply): the answer's ANLS against the row's gold answers (`answers`, else `expected_answer`),
 * 0 for no answer. Sets predicted_answer, `anls` (0..1) and `symbolic_correct`, the exact match
 * (ANLS 1), kept for NeMo-Skills' tools; a row without gold answers gets no verdict.
 */
export function anlsEvaluator(read: ReadAnswer): (input: Pick<AnswerInput, "row" | "text">) => Extracted {
  return ({ row, text }) => {
    const predicted = text === null ? null : read(text);
    const golds = goldAnswers(row);
    // No verdict: set, but to undefined, so score() makes none of its own (no key is written).
    if (golds === null) return { answer: predicted, verdict: { symbolic_correct: undefined } };
    const score = predicted === null ? 0 : anls(golds, predicted);
    return { answer: predicted, verdict: { anls: score, symbolic_correct: score === 1 } };
  };
}
