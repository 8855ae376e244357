import type { AnswerInput, Extracted } from "../eval-types.js";
import { goldAnswers } from "../shared/gold-answers.js";
import type { ReadAnswer } from "../shared/short-answer.js";
import { relaxedAccuracy } from "./relaxed-accuracy.js";

/**
 * `--eval_type relaxed-accuracy` (the reply is the answer) or `relaxed-accuracy-answer-line`
 * (the answer line of a longer reply): right when within 5% of a numeric target or equal to a
 * text target ignoring case (any of `answers`, else `expected_answer`). Sets predicted_answer and
 * symbolic_correct; a row without a target gets no verdict.
 */
export function relaxedAccuracyEvaluator(read: ReadAnswer): (input: Pick<AnswerInput, "row" | "text">) => Extracted {
  return ({ row, text }) => {
    const predicted = text === null ? null : read(text);
    const golds = goldAnswers(row);
    // No verdict: set, but to undefined, so score() makes none of its own (no key is written).
    if (golds === null) return { answer: predicted, verdict: { symbolic_correct: undefined } };
    return {
      answer: predicted,
      verdict: { symbolic_correct: predicted !== null && relaxedAccuracy(golds, predicted) },
    };
  };
}
