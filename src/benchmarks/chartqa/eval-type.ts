import type { EvalTypeDef } from "../eval-types.js";
import { answerLine, wholeReply } from "../shared/short-answer.js";
import { relaxedAccuracyEvaluator } from "./evaluate.js";

export const relaxedAccuracyWholeReply = {
  description: "ChartQA's relaxed accuracy (numbers within 5%, text exact but for case) of the whole reply",
  extract: relaxedAccuracyEvaluator(wholeReply),
} satisfies EvalTypeDef;

export const relaxedAccuracyAnswerLine = {
  description: "relaxed accuracy of the reply's answer line (The final answer is X / Answer: X), else the reply",
  extract: relaxedAccuracyEvaluator(answerLine),
} satisfies EvalTypeDef;
