import { compilePythonRegex, PythonRegexError } from "../benchmarks/extractors/python-regex.js";
import type { GenerationConfig } from "../config/generation-config.js";
import { UsageError } from "../errors.js";
import type { EvalType, ExtractAnswerOptions } from "../operators/extract-answer.js";
import type { ScoreOptions } from "../operators/score.js";

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

/** score's options from `++eval_config.*`. */
export function scoreOptions(config: GenerationConfig): ScoreOptions {
  return { normalizeExpectedAnswer: config.eval_config.normalize_expected_answer };
}
