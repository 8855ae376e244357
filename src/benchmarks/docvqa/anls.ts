/**
 * ANLS, the Average Normalized Levenshtein Similarity of DocVQA (Mathew et al. 2021) and
 * ST-VQA (Biten et al. 2019), as the competition's evaluation script computes it: both texts
 * lower-cased, trimmed and with runs of white space folded (Python's white space); NL = edit
 * distance in code points / the longer
 * length (of the texts as given, upper-cased, as the script measures them); the row's score is
 * 1 - min NL over its gold answers, and 0 when that is below the threshold 0.5.
 */
import { distance } from "fastest-levenshtein";
import { pySplit } from "../mmmu/py-text.js";

export const ANLS_THRESHOLD = 0.5;

/** " ".join(s.strip().lower().split()): Python's white space (\x1c-\x1f and \x85 in, \ufeff out). */
function normalize(s: string): string {
  return pySplit(s.toLowerCase()).join(" ");
}

/**
 * The Levenshtein distance in code points, as Python's strings count: fastest-levenshtein counts
 * UTF-16 units, so a character outside the BMP (an emoji, 𝑥) would cost two edits. Such
 * characters are first given one private-use unit each, one that neither text holds.
 */
const HAS_ASTRAL = /[\ud800-\udbff][\udc00-\udfff]/;

function codePointDistance(a: string, b: string): number {
  const astral = /[\ud800-\udbff][\udc00-\udfff]/g;
  if (!HAS_ASTRAL.test(a) && !HAS_ASTRAL.test(b)) return distance(a, b);
  const used = new Set(a + b);
  const units = new Map<string, string>();
  let next = 0xe000;
  const map = (s: string) =>
    s.replace(astral, (ch) => {
      let u = units.get(ch);
      if (u === undefined) {
        while (used.has(String.fromCharCode(next))) next++;
        u = String.fromCharCode(next++);
        units.set(ch, u);
      }
      return u;
    });
  return distance(map(a), map(b));
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
  return Math.min(1, codePointDistance(normalize(gold), normalize(prediction)) / length);
}

/** The row's ANLS in [0, 1]: 0, or at least the threshold. */
export function anls(golds: readonly string[], prediction: string, threshold = ANLS_THRESHOLD): number {
  if (golds.length === 0) return 0;
  let best = Number.POSITIVE_INFINITY;
  for (const g of golds) best = Math.min(best, normalizedDistance(g, prediction));
  const score = 1 - best;
  return score < threshold ? 0 : score;
}
