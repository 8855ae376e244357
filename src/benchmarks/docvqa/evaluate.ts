import type { Evaluator } from "../evaluator.js";
import { goldAnswers } from "../shared/gold-answers.js";
import type { ReadAnswer } from "../shared/short-answer.js";
import { anls } from "./anls.js";

/**
 * `--eval_type anls` (the reply is the answer) or `anls-answer-line` (the answer line of a longer
 * reply): the answer's ANLS against the row's gold answers (`answers`, else `expected_answer`),
 * 0 for no answer. Sets predicted_answer and `anls` (0..1); `symbolic_correct` is the exact match
 * (ANLS 1), kept for NeMo-Skills' tools.
 */
export function anlsEvaluator(read: ReadAnswer): Evaluator {
  return ({ row, generation }) => {
    const golds = goldAnswers(row);
    if (golds === null) return { out: {} };
    const predicted = generation === null ? null : read(generation);
    const score = predicted === null ? 0 : anls(golds, predicted);
    return { out: { predicted_answer: predicted, anls: score, symbolic_correct: score === 1 } };
  };
}
