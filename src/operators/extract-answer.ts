import { type OperatorFunction, map } from "rxjs";
import { extractMultichoice } from "../benchmarks/extractors/multichoice.js";
import { type EvaluatorName, getEvaluator } from "../benchmarks/evaluator.js";
import { parseOfficial, parseOptionsList, rowRng } from "../benchmarks/mmmu-pro/official-parser.js";
import { ErrorCodes } from "../errors.js";
import type { Sample } from "../types.js";

export type EvalType = "multichoice" | "mmmu-pro-official" | EvaluatorName;

export type ExtractAnswerOptions = {
  evalType: EvalType;
  /** Seed of the official parser's random fallback (drawn per row, from the row's id). Default 42. */
  seed?: number;
};

/**
 * Sets `out.predicted_answer` with the chosen extractor, from `out.generation` or, when re-scoring
 * a file, `row.generation`. When the row has options (`row.options`, a JSON list or the Python-style
 * string) both extractors run: `out.predicted_answer_multichoice`, `out.predicted_answer_official`,
 * and `out.official_random_fallback: true` when the official parser guessed. A row whose reasoning
 * never finished (`out._unfinished_reasoning`) or without a generation has no answer (null).
 * Records VLM_E_DATA for `mmmu-pro-official` on a row without usable options.
 * Samples with `error` pass through untouched.
 *
 *   extractAnswer({ evalType: "multichoice" }) : generation "...Answer: C" -> predicted_answer "C"
 */
export function extractAnswer(opts: ExtractAnswerOptions): OperatorFunction<Sample, Sample> {
  const seed = opts.seed ?? 42;
  const evaluator = getEvaluator(opts.evalType);
  return map((s) => {
    if (s.error) return s;
    const generation = generationOf(s);
    // The benchmarks' own parse-and-judge eval types (src/benchmarks/evaluator.ts).
    if (evaluator) {
      const key = s.row.id === undefined || s.row.id === null ? String(s.index) : String(s.row.id);
      const r = evaluator({ row: s.row, generation, key, seed });
      if ("error" in r) return { ...s, error: { stage: "extractAnswer", code: ErrorCodes.DATA, message: r.error } };
      return { ...s, out: { ...s.out, ...r.out } };
    }
    const options = parseOptionsList(s.row.options);
    const hasOptions = options !== null && options.length > 0;

    if (opts.evalType === "mmmu-pro-official" && !hasOptions) {
      return {
        ...s,
        error: {
          stage: "extractAnswer",
          code: ErrorCodes.DATA,
          message: "eval_type mmmu-pro-official needs the row's options (a list, or a Python-style list string)",
        },
      };
    }

    const out: Record<string, unknown> = { ...s.out };
    const multichoice = generation === null ? null : extractMultichoice(generation);
    let official: string | null = null;
    if (hasOptions) {
      if (generation !== null) {
        const key = s.row.id === undefined || s.row.id === null ? String(s.index) : String(s.row.id);
        const parsed = parseOfficial(generation, options, rowRng(seed, key));
        official = parsed.answer;
        // false only over a stale flag the re-scored row carries
        if (parsed.fallback || "official_random_fallback" in s.row) out.official_random_fallback = parsed.fallback;
      }
      out.predicted_answer_multichoice = multichoice;
      out.predicted_answer_official = official;
    }
    out.predicted_answer = opts.evalType === "multichoice" ? multichoice : official;
    return { ...s, out };
  });
}

/** The text to parse; null when there is none or the reasoning never ended (no answer). */
function generationOf(s: Sample): string | null {
  if (s.out._unfinished_reasoning === true) return null;
  if ("generation" in s.out) return typeof s.out.generation === "string" ? s.out.generation : null;
  if (s.row._unfinished_reasoning === true) return null;
  return typeof s.row.generation === "string" ? s.row.generation : null;
}
