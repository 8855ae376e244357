import { map, type OperatorFunction } from "rxjs";
import type { Sample } from "../types.js";

const SINGLE_LETTER_RE = /^[A-Za-z]$/;

export type ScoreOptions = {
  /**
   * Opt-in, vlmpipe's (`++eval_config.normalize_expected_answer=true`): both answers are trimmed and a
   * single letter upper-cased before comparing, so `"c"`, `" C"` and `C` agree. Off: NeMo-Skills'
   * exact `predicted_answer == expected_answer`.
   */
  normalizeExpectedAnswer?: boolean;
};

/**
 * Sets `out.symbolic_correct` as NeMo-Skills' eval_mcq does: `predicted_answer == expected_answer`
 * with Python's equality (so a null expected answer is matched by no answer). The predicted answer is
 * `out.predicted_answer`, else the re-scored row's. Rows without an `expected_answer` key get no
 * verdict (NeMo-Skills raises there); rows already judged (out.symbolic_correct set by a benchmark's
 * eval type: mmmu-official, anls, ...) keep theirs, and so do rows it declined (the key set to
 * undefined: a row without gold answers gets no verdict, not a comparison with a null expected
 * answer). Samples with `error` pass through.
 *
 *   score() : predicted_answer "B", expected_answer "B" -> symbolic_correct true ("b" or "B " -> false)
 */
export function score(opts: ScoreOptions = {}): OperatorFunction<Sample, Sample> {
  return map((s) => {
    if (s.error) return s;
    // An eval type that judges by its benchmark's own rules (mmmu-official, anls, ...) has set it.
    if ("symbolic_correct" in s.out) return s;
    if (!("expected_answer" in s.row)) return s;
    const expected = s.row.expected_answer;
    const raw = "predicted_answer" in s.out ? s.out.predicted_answer : s.row.predicted_answer;
    const predicted = raw === undefined ? null : raw;
    const correct = opts.normalizeExpectedAnswer
      ? predicted !== null && expected !== null && normalise(predicted) === normalise(expected)
      : pyEquals(predicted, expected);
    return { ...s, out: { ...s.out, symbolic_correct: correct } };
  });
}

function normalise(v: unknown): string {
  const t = (typeof v === "string" ? v : String(v)).trim();
  return SINGLE_LETTER_RE.test(t) ? t.toUpperCase() : t;
}

/** Python's `==` on JSON values: True == 1, lists and dicts compared item by item. */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (typeof a === "boolean" && typeof b === "number") return Number(a) === b;
  if (typeof a === "number" && typeof b === "boolean") return a === Number(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const ka = Object.keys(a);
    const rb = b as Record<string, unknown>;
    const ra = a as Record<string, unknown>;
    return ka.length === Object.keys(b).length && ka.every((k) => k in rb && pyEquals(ra[k], rb[k]));
  }
  return a === b;
}
