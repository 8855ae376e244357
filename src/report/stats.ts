/** z of a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

export type Interval = { low: number; high: number };

/**
 * The Wilson score interval of a proportion (fractions, 0-1). Unlike the normal approximation
 * it stays inside [0, 1] and does not collapse to a point at 0/n or n/n, which matters for
 * subjects of 10-60 questions. `successes` may be fractional: with several seeds the report
 * passes mean accuracy x questions, treating a question's mean over seeds as one trial. That is
 * conservative: averaging seeds can only lower a question's variance below p(1-p).
 */
export function wilsonInterval(successes: number, n: number, z = Z95): Interval {
  if (!(n > 0)) return { low: 0, high: 1 };
  const p = Math.min(1, Math.max(0, successes / n));
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** One histogram bin: integer values lo <= v < hi; `correct` counts the right answers among them. */
export type HistogramBin = { lo: number; hi: number; count: number; correct: number };

export type TokenSummary = { count: number; mean: number; median: number; p90: number; min: number; max: number };

/**
 * Counts of generated-token values, kept as value -> count so memory is bounded by the number of
 * distinct values (at most the model's max_tokens), never by the number of rows; bins are chosen
 * at the end, when the range is known.
 */
export class TokenHistogram {
  private readonly counts = new Map<number, { total: number; correct: number }>();
  private n = 0;
  private sum = 0;

  add(tokens: number, correct: boolean): void {
    if (!Number.isFinite(tokens) || tokens < 0) return;
    const v = Math.round(tokens);
    let c = this.counts.get(v);
    if (c === undefined) {
      c = { total: 0, correct: 0 };
      this.counts.set(v, c);
    }
    c.total++;
    if (correct) c.correct++;
    this.n++;
    this.sum += v;
  }

  get count(): number {
    return this.n;
  }

  /**
   * At most `maxBins` bins of one "nice" integer width (1, 2 or 5 x 10^k) covering min..max,
   * starting at a multiple of the width; [] when empty.
   */
  bins(maxBins = 24): HistogramBin[] {
    if (this.n === 0) return [];
    const values = [...this.counts.keys()];
    const min = Math.min(...values);
    const max = Math.max(...values);
    const width = niceWidth((max - min + 1) / maxBins);
    const first = Math.floor(min / width);
    const last = Math.floor(max / width);
    const bins: HistogramBin[] = [];
    for (let b = first; b <= last; b++) bins.push({ lo: b * width, hi: (b + 1) * width, count: 0, correct: 0 });
    for (const [v, c] of this.counts) {
      const bin = bins[Math.floor(v / width) - first]!;
      bin.count += c.total;
      bin.correct += c.correct;
    }
    return bins;
  }

  /** Mean, nearest-rank median and 90th percentile, extremes; null when empty. */
  summary(): TokenSummary | null {
    if (this.n === 0) return null;
    const sorted = [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
    const rank = (q: number) => {
      const target = Math.max(1, Math.ceil(q * this.n));
      let seen = 0;
      for (const [v, c] of sorted) {
        seen += c.total;
        if (seen >= target) return v;
      }
      return sorted[sorted.length - 1]![0];
    };
    return {
      count: this.n,
      mean: this.sum / this.n,
      median: rank(0.5),
      p90: rank(0.9),
      min: sorted[0]![0],
      max: sorted[sorted.length - 1]![0],
    };
  }
}

/** The smallest of 1, 2, 5, 10, 20, 50, ... that is >= x (and >= 1: token counts are integers). */
export function niceWidth(x: number): number {
  if (!(x > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Integer tick values from 0 to at least max (a count axis), about `target` of them, at a nice step. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const step = niceWidth(max / target);
  const top = Math.max(1, Math.ceil(max / step));
  return Array.from({ length: top + 1 }, (_, i) => i * step);
}
