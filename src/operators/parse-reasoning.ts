import { map, type OperatorFunction } from "rxjs";
import { pyStrip } from "../benchmarks/mmmu/py-text.js";
import type { Sample } from "../types.js";

export type ParseReasoningOptions = {
  /** Where the thinking ends; NeMo-Skills' `++end_reasoning_string`. Default `</think>`. */
  endReasoningString?: string;
};

/**
 * NeMo-Skills' `++parse_reasoning=True`: keeps the whole text in `out._full_generation` and sets
 * `out.generation` to what follows the last end string, stripped as Python's str.strip() does.
 * Without the end string the thinking never finished: generation becomes "" and
 * `out._unfinished_reasoning` is true, so the row counts as no answer (finished, it is set false
 * when the input row, an earlier output, had it). `out._generation_finished_thinking` is
 * NeMo-Skills' own flag for it.
 * Reads `out.generation`, else (re-scoring a file) `row.generation` unless that row was parsed
 * already. Samples with `error`, or without a string generation, pass through untouched.
 *
 *   parseReasoning({}) : "<think>hm</think>\n B" -> generation "B", _full_generation "<think>hm</think>\n B"
 */
export function parseReasoning(opts: ParseReasoningOptions = {}): OperatorFunction<Sample, Sample> {
  const end = opts.endReasoningString ?? "</think>";
  if (end === "") throw new RangeError("endReasoningString must not be empty");
  return map((s) => {
    if (s.error) return s;
    const text = sourceText(s);
    if (text === undefined) return s;
    const at = text.lastIndexOf(end);
    const out: Record<string, unknown> = { ...s.out, _full_generation: text, _generation_finished_thinking: at >= 0 };
    if (at >= 0) {
      // Python's str.strip(): its white space is not JavaScript's (U+FEFF, U+001C-U+001F, U+0085).
      out.generation = pyStrip(text.slice(at + end.length));
      // An input row that is an earlier output may carry the flag: out goes over it on the line.
      if ("_unfinished_reasoning" in s.row) out._unfinished_reasoning = false;
    } else {
      out.generation = "";
      out._unfinished_reasoning = true;
    }
    return { ...s, out };
  });
}

function sourceText(s: Sample): string | undefined {
  if ("generation" in s.out) return typeof s.out.generation === "string" ? s.out.generation : undefined;
  // A row written with parse_reasoning already holds the answer part only: parsing it again would empty it.
  if ("_full_generation" in s.row) return undefined;
  return typeof s.row.generation === "string" ? s.row.generation : undefined;
}
