import type { EvalTypeDef } from "../eval-types.js";
import { choicesOf, evaluateMmmu } from "./evaluate.js";

/** `--eval_type mmmu-official`: the MMMU authors' parse and verdict (see evaluate.ts). */
export const mmmuOfficial = {
  description: "the MMMU authors' parser and judge (multiple-choice and open answers), random fallback seeded per row",
  refuse: ({ row }) =>
    row.question_type === "multiple-choice" && choicesOf(row) === null
      ? "eval_type mmmu-official needs a multiple-choice row's all_choices + index2ans or options"
      : undefined,
  extract: ({ row, text, key, seed }) => evaluateMmmu({ row, generation: text, key, seed }),
} satisfies EvalTypeDef;
