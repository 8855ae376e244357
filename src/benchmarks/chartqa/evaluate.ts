import type { EvaluatorInput, EvaluatorResult } from "../evaluator.js";
import { extractShortAnswer } from "../shared/short-answer.js";
import { goldAnswers } from "../shared/gold-answers.js";
import { relaxedAccuracy } from "./relaxed-accuracy.js";

/**
 * `--eval_type relaxed-accuracy`: the short answer of the generation, right when it is within
 * 5% of a numeric target or equals a text target ignoring case (any of `answers`, else
 * `expected_answer`). Sets predicted_answer and symbolic_correct.
 */
export function evaluateRelaxedAccuracy({ row, generation }: EvaluatorInput): EvaluatorResult {
  const golds = goldAnswers(row);
  if (golds === null) return { out: {} };
  const predicted = generation === null ? null : extractShortAnswer(generation);
  return { out: { predicted_answer: predicted, symbolic_correct: predicted !== null && relaxedAccuracy(golds, predicted) } };
}
