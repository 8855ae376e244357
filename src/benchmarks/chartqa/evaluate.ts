import type { Evaluator } from "../evaluator.js";
import { goldAnswers } from "../shared/gold-answers.js";
import type { ReadAnswer } from "../shared/short-answer.js";
import { relaxedAccuracy } from "./relaxed-accuracy.js";

/**
 * `--eval_type relaxed-accuracy` (the reply is the answer) or `relaxed-accuracy-answer-line`
 * (the answer line of a longer reply): right when within 5% of a numeric target or equal to a
 * text target ignoring case (any of `answers`, else `expected_answer`). Sets predicted_answer and
 * symbolic_correct.
 */
export function relaxedAccuracyEvaluator(read: ReadAnswer): Evaluator {
  return ({ row, generation }) => {
    const golds = goldAnswers(row);
    if (golds === null) return { out: {} };
    const predicted = generation === null ? null : read(generation);
    return { out: { predicted_answer: predicted, symbolic_correct: predicted !== null && relaxedAccuracy(golds, predicted) } };
  };
}
