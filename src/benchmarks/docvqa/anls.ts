/**
 * ANLS, the Average Normalized Levenshtein Similarity of DocVQA (Mathew et al. 2021) and
 * ST-VQA (Biten et al. 2019), as the competition's evaluation script computes it: both texts
 * lower-cased, trimmed and with runs of white space folded; NL = edit distance / the longer
 * length (of the texts as given, upper-cased, as the script measures them); the row's score is
 * 1 - min NL over its gold answers, and 0 when that is below the threshold 0.5.
 */
import { distance } from "fastest-levenshtein";

export const ANLS_THRESHOLD = 0.5;

function normalize(s: string): string {
  return s.trim().toLowerCase().split(/\s+/).filter(Boolean).join(" ");
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** The normalized Levenshtein distance of one gold answer and the prediction, in [0, 1]. */
export function normalizedDistance(gold: string, prediction: string): number {
  const length = Math.max(codePoints(gold.toUpperCase()), codePoints(prediction.toUpperCase()));
  if (length === 0) return 0;
  return Math.min(1, distance(normalize(gold), normalize(prediction)) / length);
}

/** The row's ANLS in [0, 1]: 0, or at least the threshold. */
export function anls(golds: readonly string[], prediction: string, threshold = ANLS_THRESHOLD): number {
  if (golds.length === 0) return 0;
  let best = Number.POSITIVE_INFINITY;
  for (const g of golds) best = Math.min(best, normalizedDistance(g, prediction));
  const score = 1 - best;
  return score < threshold ? 0 : score;
}
