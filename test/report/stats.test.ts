import { describe, expect, it } from "vitest";
import { niceTicks, niceWidth, TokenHistogram, wilsonInterval } from "../../src/report/stats.js";

describe("wilsonInterval", () => {
  it("gives the Wilson score interval at 95% (statsmodels' proportion_confint method='wilson')", () => {
    const ci = wilsonInterval(7, 10);
    expect(ci.low).toBeCloseTo(0.3967781, 6);
    expect(ci.high).toBeCloseTo(0.8922087, 6);
    const big = wilsonInterval(520, 1000);
    expect(big.low).toBeCloseTo(0.4890177, 6);
    expect(big.high).toBeCloseTo(0.5508292, 6);
  });

  it("keeps a width at 0/n and n/n and stays inside [0, 1]", () => {
    const none = wilsonInterval(0, 10);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.2775328, 6);
    const all = wilsonInterval(10, 10);
    expect(all.low).toBeCloseTo(0.7224672, 6);
    expect(all.high).toBeLessThanOrEqual(1);
    expect(all.high).toBeCloseTo(1, 9);
  });

  it("takes a fractional count (mean accuracy over seeds) and answers [0, 1] for no questions", () => {
    const ci = wilsonInterval((2 / 3) * 30, 30);
    expect(ci.low).toBeLessThan(2 / 3);
    expect(ci.high).toBeGreaterThan(2 / 3);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });
});

describe("TokenHistogram", () => {
  it("puts 0..99 into ten bins of width 10, counting right answers apart", () => {
    const h = new TokenHistogram();
    for (let i = 0; i < 100; i++) h.add(i, i % 2 === 0);
    const bins = h.bins(10);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toEqual({ lo: 0, hi: 10, count: 10, correct: 5 });
    expect(bins[9]).toEqual({ lo: 90, hi: 100, count: 10, correct: 5 });
    expect(h.summary()).toEqual({ count: 100, mean: 49.5, median: 49, p90: 89, min: 0, max: 99 });
  });

  it("chooses a nice width for a long range and one-token bins for a short one", () => {
    const wide = new TokenHistogram();
    wide.add(0, false);
    wide.add(131_071, true);
    const bins = wide.bins(24);
    expect(bins[0]!.hi - bins[0]!.lo).toBe(10_000);
    expect(bins).toHaveLength(14);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(2);
    expect(bins[13]).toMatchObject({ lo: 130_000, count: 1, correct: 1 });

    const narrow = new TokenHistogram();
    for (const v of [5, 5, 17]) narrow.add(v, false);
    const nb = narrow.bins(24);
    expect(nb).toHaveLength(13);
    expect(nb[0]).toEqual({ lo: 5, hi: 6, count: 2, correct: 0 });
    expect(nb[12]).toEqual({ lo: 17, hi: 18, count: 1, correct: 0 });
  });

  it("starts bins at a multiple of the width, ignores non-numbers, and is empty without values", () => {
    const h = new TokenHistogram();
    expect(h.bins()).toEqual([]);
    expect(h.summary()).toBeNull();
    h.add(Number.NaN, true);
    h.add(-3, true);
    for (const v of [130, 145, 260]) h.add(v, true);
    const bins = h.bins(10);
    expect(bins[0]!.lo % (bins[0]!.hi - bins[0]!.lo)).toBe(0);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(3);
    expect(h.count).toBe(3);
  });
});

describe("nice axis numbers", () => {
  it("steps by 1, 2 or 5 times a power of ten", () => {
    expect([0.3, 1, 1.5, 3, 7, 12, 4500].map(niceWidth)).toEqual([1, 1, 2, 5, 10, 20, 5000]);
    expect(niceTicks(21)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});
