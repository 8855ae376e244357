/**
 * ChartQA's relaxed accuracy (Masry et al. 2022, end of section 5.1, following Methani et al.
 * 2020), as the reference code computes it (google-research/pix2struct, metrics.py
 * `relaxed_correctness`, which the ChartQA authors point to): a prediction and a target that
 * both read as numbers (a trailing "%" divides by 100) are equal within 5% of the target;
 * otherwise, and when the target is 0, the texts must match ignoring case. A row is right when
 * it matches any of its targets.
 */
import { pyFloat } from "../mmmu/py-text.js";

export const MAX_RELATIVE_CHANGE = 0.05;

/** Python float(text), with a trailing "%" read as a fraction; null when not a number. */
function toFloat(text: string): number | null {
  if (text.endsWith("%")) {
    const n = pyFloat(text.replace(/%+$/, ""));
    return n === null ? null : n / 100;
  }
  return pyFloat(text);
}

export function relaxedCorrect(target: string, prediction: string, maxRelativeChange = MAX_RELATIVE_CHANGE): boolean {
  const p = toFloat(prediction);
  const t = toFloat(target);
  // A target of 0 is falsy in the reference: such rows fall through to the text comparison.
  if (p !== null && t !== null && t !== 0) return Math.abs(p - t) / Math.abs(t) <= maxRelativeChange;
  return prediction.toLowerCase() === target.toLowerCase();
}

/** Right against any of the targets. */
export function relaxedAccuracy(targets: readonly string[], prediction: string): boolean {
  return targets.some((t) => relaxedCorrect(t, prediction));
}
