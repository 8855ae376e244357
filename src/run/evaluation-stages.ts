import { identity, type OperatorFunction, pipe } from "rxjs";
import type { GenerationConfig } from "../config/generation-config.js";
import { compilePythonRegex, PythonRegexError } from "../benchmarks/extractors/python-regex.js";
import { UsageError } from "../errors.js";
import { type ExtractAnswerOptions, extractAnswer } from "../operators/extract-answer.js";
import { parseReasoning } from "../operators/parse-reasoning.js";
import { type ScoreOptions, score } from "../operators/score.js";
import type { Sample } from "../types.js";

export const EVAL_TYPES = ["multichoice", "mmmu-pro-official"] as const;
export type EvalType = (typeof EVAL_TYPES)[number];

/**
 * What follows generation: NeMo-Skills' reasoning split when asked, then, with an eval type,
 * answer extraction and scoring. The score command uses the same stages on existing generations.
 */
export function evaluationStages(config: GenerationConfig, evalType: EvalType | undefined): OperatorFunction<Sample, Sample> {
  const reasoning = config.parse_reasoning ? parseReasoning({ endReasoningString: config.end_reasoning_string }) : identity;
  if (!evalType) return reasoning;
  return pipe(reasoning, extractAnswer(extractOptions(config, evalType)), score(scoreOptions(config)));
}

/** extractAnswer's options from `++eval_config.*`; a run-wide regex that cannot be read is a usage error. */
export function extractOptions(config: GenerationConfig, evalType: EvalType): ExtractAnswerOptions {
  const ec = config.eval_config;
  for (const r of typeof ec.extract_regex === "string" ? [ec.extract_regex] : ec.extract_regex) {
    try {
      compilePythonRegex(r);
    } catch (e) {
      if (e instanceof PythonRegexError) throw new UsageError(`++eval_config.extract_regex: ${e.message}`);
      throw e;
    }
  }
  const multichoice = {
    extractFromBoxed: ec.extract_from_boxed,
    extractRegex: ec.extract_regex,
    relaxed: ec.relaxed,
    answerLineFirst: ec.answer_line_first,
  };
  return { evalType, seed: ec.seed, multichoice };
}

export function scoreOptions(config: GenerationConfig): ScoreOptions {
  return { normalizeExpectedAnswer: config.eval_config.normalize_expected_answer };
}
