import type { EvalTypeDef } from "../eval-types.js";
import { answerLine, wholeReply } from "../shared/short-answer.js";
import { anlsEvaluator } from "./evaluate.js";

export const anlsWholeReply = {
  description: "DocVQA's ANLS (threshold 0.5, best of the gold answers) of the whole reply; anls per row",
  extract: anlsEvaluator(wholeReply),
} satisfies EvalTypeDef;

export const anlsAnswerLine = {
  description: "ANLS of the reply's answer line (The final answer is X / Answer: X), else the reply",
  extract: anlsEvaluator(answerLine),
} satisfies EvalTypeDef;
