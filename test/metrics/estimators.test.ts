import { describe, expect, it } from "vitest";
import { majorityScore } from "../../src/metrics/majority.js";
import { passAtK } from "../../src/metrics/pass-at-k.js";
import { RunStatisticsAccumulator } from "../../src/metrics/run-statistics.js";

describe("passAtK", () => {
  it("is 1 - C(n-c, k) / C(n, k)", () => {
    expect(passAtK(4, 1, 1)).toBeCloseTo(0.25, 12);
    expect(passAtK(4, 1, 2)).toBeCloseTo(0.5, 12); // 1 - 3/6
    expect(passAtK(4, 2, 2)).toBeCloseTo(5 / 6, 12); // 1 - 1/6
    expect(passAtK(10, 3, 5)).toBeCloseTo(1 - 21 / 252, 12); // C(7,5)=21, C(10,5)=252
    expect(passAtK(3, 0, 3)).toBe(0);
    expect(passAtK(3, 3, 1)).toBe(1);
    expect(passAtK(1, 1, 1)).toBe(1);
  });

  it("stays finite for many runs", () => {
    expect(passAtK(2000, 1, 1000)).toBeCloseTo(0.5, 12);
  });

  it("refuses impossible arguments", () => {
    expect(() => passAtK(3, 1, 4)).toThrow(RangeError);
    expect(() => passAtK(3, 4, 1)).toThrow(RangeError);
    expect(() => passAtK(3, 1, 0)).toThrow(RangeError);
  });
});

describe("majorityScore", () => {
  // NeMo-Skills main (base.py @ 1ffb46f) counts (answer, verdict) pairs; the cases of its open PR #1519's
  // tests/test_base_metrics.py, with the scores main's formula gives them.
  it.each([
    [["42", "42", "42", "43", "43"], [1, 0, 1, 0, 0], 1 / 2], // ("42",1) and ("43",0) tie at 2
    [["7", "7", "7"], [1, 1, 0], 1],
    [["a", "a", "a"], [1, 0, 0], 0],
    [["42", "42", "43"], [1, 1, 0], 1],
    [["9", "9", "9"], [0, 0, 0], 0],
    [["a", "b"], [1, 0], 0.5],
    [["a", "a", "b", "b"], [1, 0, 1, 1], 1],
  ])("scores %j with verdicts %j as %d (pairs, upstream main)", (answers, scores, expected) => {
    expect(majorityScore(answers, scores)).toBeCloseTo(expected, 12);
  });

  // The same cases as PR #1519 expects them: duplicate answers are one candidate (#1257).
  it.each([
    [["42", "42", "42", "43", "43"], [1, 0, 1, 0, 0], 2 / 3],
    [["7", "7", "7"], [1, 1, 0], 2 / 3],
    [["a", "a", "a"], [1, 0, 0], 1 / 3],
    [["42", "42", "43"], [1, 1, 0], 1],
    [["9", "9", "9"], [0, 0, 0], 0],
    [["a", "b"], [1, 0], 0.5],
    [["a", "a", "b", "b"], [1, 0, 1, 1], 0.75],
  ])("with byAnswer (opt-in) scores %j with verdicts %j as %d", (answers, scores, expected) => {
    expect(majorityScore(answers, scores, true)).toBeCloseTo(expected, 12);
  });

  it("ignores runs without an answer", () => {
    expect(majorityScore(["5", null, "5"], [1, 0, 1])).toBe(1);
    expect(majorityScore([null, "B", null], [0, 1, 0])).toBe(1);
  });

  it("scores 0 when no run answered", () => {
    expect(majorityScore([null, null], [0, 0])).toBe(0);
  });
});

describe("RunStatisticsAccumulator", () => {
  // NeMo-Skills' tests/test_base_metrics.py::test_base_metrics_add_std_metrics.
  const cases: Array<[number[][], Record<number, [number, number, number, number]>]> = [
    [
      [
        [1, 0],
        [0, 1],
      ],
      // Upstream's expected std as Python printed it, like every value in this table (it happens to be sqrt(1/2)).
      // biome-ignore lint/suspicious/noApproximativeNumericConstant: upstream's expected value, copied as printed
      { 2: [0.5, 0, 0.7071067811865476, 0] },
    ],
    [
      [
        [1, 0, 1],
        [0, 1, 0],
        [1, 1, 1],
      ],
      { 2: [0.6666666666666666, 0, 0.47140452079103173, 0], 3: [0.6666666666666666, 0, 0.3849001794597506, 0] },
    ],
    [
      [
        [1, 0, 1, 0],
        [1, 1, 0, 0],
        [0, 1, 1, 1],
      ],
      {
        2: [0.6666666666666666, 0, 0.47140452079103173, 0],
        3: [0.6666666666666666, 0, 0.5773502691896258, 0],
        4: [0.5833333333333334, 0.16666666666666666, 0.5515668461264172, 0.08333333333333333],
      },
    ],
    [
      [
        [1, 0, 1, 1, 0],
        [0, 1, 0, 1, 1],
        [1, 1, 1, 0, 0],
        [0, 0, 1, 1, 1],
      ],
      {
        2: [0.5, 0, 0.3535533905932738, 0],
        3: [0.5833333333333334, 0.14433756729740646, 0.4330127018922194, 0.08333333333333334],
        4: [0.625, 0.14433756729740643, 0.5386751345948129, 0.07216878364870322],
        5: [0.6, 0.13693063937629152, 0.5477225575051662, 0.06123724356957944],
      },
    ],
    [
      [
        [1, 1],
        [1, 1],
        [0, 0],
      ],
      { 2: [0.6666666666666666, 0, 0, 0] },
    ],
  ];

  it.each(cases)("gives NeMo-Skills' statistics for %j", (rows, expected) => {
    const acc = new RunStatisticsAccumulator(rows[0]!.length);
    for (const r of rows) acc.add(r);
    for (const [k, [avg, std, sampleStd, stdErr]] of Object.entries(expected)) {
      const s = acc.result(Number(k));
      expect(Object.keys(s)).toEqual(["avg", "std_dev_across_runs", "avg_sample_std_dev", "std_err_across_runs"]);
      expect(s.avg).toBeCloseTo(avg, 12);
      expect(s.std_dev_across_runs).toBeCloseTo(std, 12);
      expect(s.avg_sample_std_dev).toBeCloseTo(sampleStd, 12);
      expect(s.std_err_across_runs).toBeCloseTo(stdErr, 12);
    }
  });
});
