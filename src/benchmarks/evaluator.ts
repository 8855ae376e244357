/**
 * Eval types that parse and judge in one step, by their benchmark's authors' rules (the
 * extractAnswer operator runs them; score() then keeps their verdict). Registered here only.
 */
import { relaxedAccuracyEvaluator } from "./chartqa/evaluate.js";
import { anlsEvaluator } from "./docvqa/evaluate.js";
import { evaluateMmmu } from "./mmmu/evaluate.js";
import { answerLine, wholeReply } from "./shared/short-answer.js";

export type EvaluatorInput = {
  row: Record<string, unknown>;
  /** The text to parse; null when there is none (no generation, reasoning never ended). */
  generation: string | null;
  /** The row's id (else its index): what a random fallback is seeded with. */
  key: string;
  seed: number;
};

/** Fields for the output line (predicted_answer, symbolic_correct, ...), or a data error. */
export type EvaluatorResult = { out: Record<string, unknown> } | { error: string };

export type Evaluator = (input: EvaluatorInput) => EvaluatorResult;

export const EVALUATORS = {
  "mmmu-official": evaluateMmmu,
  "relaxed-accuracy": relaxedAccuracyEvaluator(wholeReply),
  "relaxed-accuracy-answer-line": relaxedAccuracyEvaluator(answerLine),
  anls: anlsEvaluator(wholeReply),
  "anls-answer-line": anlsEvaluator(answerLine),
} as const satisfies Record<string, Evaluator>;

export type EvaluatorName = keyof typeof EVALUATORS;
export const EVALUATOR_NAMES = Object.keys(EVALUATORS) as EvaluatorName[];

export function getEvaluator(name: string): Evaluator | undefined {
  return (EVALUATORS as Record<string, Evaluator>)[name];
}
