import { EVALUATOR_NAMES } from "../benchmarks/evaluator.js";
import { identity, type OperatorFunction, pipe } from "rxjs";
import type { GenerationConfig } from "../config/generation-config.js";
import { extractAnswer } from "../operators/extract-answer.js";
import { parseReasoning } from "../operators/parse-reasoning.js";
import { score } from "../operators/score.js";
import type { Sample } from "../types.js";

export const EVAL_TYPES = ["multichoice", "mmmu-pro-official", ...EVALUATOR_NAMES] as const;
export type EvalType = (typeof EVAL_TYPES)[number];

/**
 * What follows generation: NeMo-Skills' reasoning split when asked, then, with an eval type,
 * answer extraction and scoring. The score command uses the same stages on existing generations.
 */
export function evaluationStages(config: GenerationConfig, evalType: EvalType | undefined): OperatorFunction<Sample, Sample> {
  const reasoning = config.parse_reasoning ? parseReasoning({ endReasoningString: config.end_reasoning_string }) : identity;
  if (!evalType) return reasoning;
  return pipe(reasoning, extractAnswer({ evalType, seed: config.eval_config.seed }), score());
}
