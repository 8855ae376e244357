import { map, type OperatorFunction } from "rxjs";
import { EVAL_TYPES, type EvalType } from "../benchmarks/eval-types.js";
import { DEFAULT_MULTICHOICE, type MultichoiceSettings } from "../benchmarks/extractors/multichoice.js";
import { parseOptionsList } from "../benchmarks/mmmu-pro/official-parser.js";
import { ErrorCodes, VlmError } from "../errors.js";
import type { Sample } from "../types.js";

export type { EvalType } from "../benchmarks/eval-types.js";

export type ExtractAnswerOptions = {
  /** An entry of EVAL_TYPES (src/benchmarks/eval-types.ts). */
  evalType: EvalType;
  /** Seed of the official parser's random fallback (drawn per row, from the row's id). Default 42. */
  seed?: number;
  /**
   * The multichoice extractor's run-wide settings (`++eval_config.extract_from_boxed`, `extract_regex`,
   * `relaxed`, `answer_line_first`); a row's own `extract_from_boxed` / `extract_regex` / `relaxed` win.
   */
  multichoice?: Partial<MultichoiceSettings>;
};

/**
 * Sets `out.predicted_answer` with the eval type's extractor, from `out.generation` or, when
 * re-scoring a file, `row.generation`. With the MMMU-Pro eval types (multichoice, mmmu-pro-official),
 * when the row has options (`row.options`, a JSON list or the Python-style string) both MMMU-Pro
 * extractors run: `out.predicted_answer_multichoice`,
 * `out.predicted_answer_official`, and `out.official_random_fallback: true` when the official
 * parser guessed. A row whose reasoning never finished (`out._unfinished_reasoning`) or without a
 * generation has no answer (null). Records VLM_E_DATA when the eval type refuses the row (e.g.
 * `mmmu-pro-official` on a row without usable options). Samples with `error` pass through untouched.
 *
 *   extractAnswer({ evalType: "multichoice" }) : generation "...Answer: C" -> predicted_answer "C"
 */
export function extractAnswer(opts: ExtractAnswerOptions): OperatorFunction<Sample, Sample> {
  const seed = opts.seed ?? 42;
  const type = EVAL_TYPES[opts.evalType];
  if (!type) throw new RangeError(`unknown eval type "${opts.evalType}"; known: ${Object.keys(EVAL_TYPES).join(", ")}`);
  const refuse = "refuse" in type ? type.refuse : undefined;
  const multichoice: MultichoiceSettings = { ...DEFAULT_MULTICHOICE, ...opts.multichoice };
  return map((s) => {
    if (s.error) return s;
    const key = s.row.id === undefined || s.row.id === null ? String(s.index) : String(s.row.id);
    const options = parseOptionsList(s.row.options);
    const input = { text: generationOf(s), row: s.row, options, key, seed, multichoice };
    const refused = refuse?.(input);
    if (refused) return { ...s, error: { stage: "extractAnswer", code: ErrorCodes.DATA, message: refused } };
    let extracted: ReturnType<typeof type.extract>;
    try {
      extracted = type.extract(input);
    } catch (e) {
      if (!(e instanceof VlmError)) throw e;
      return { ...s, error: { stage: "extractAnswer", code: e.code, message: e.message } };
    }
    const { answer, fields, verdict } = extracted;
    const out: Record<string, unknown> = { ...s.out, ...fields };
    out.predicted_answer = answer;
    if (verdict) Object.assign(out, verdict);
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
