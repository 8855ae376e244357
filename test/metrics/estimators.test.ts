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

  it("gives Python's bits: exact binomials, then int / int correctly rounded (BigInt above 2^53)", () => {
    expect(passAtK(5, 1, 2)).toBe(0.4); // a running product gives 0.3999999999999999
    expect(passAtK(6, 1, 2)).toBe(0.33333333333333337);
    expect(passAtK(8, 2, 3)).toBe(0.6428571428571428);
    expect(passAtK(58, 4, 24)).toBe(0.8906922478610318); // C(58, 24) > 2^53; as doubles: 0.890692247861032
    expect(passAtK(59, 1, 26)).toBe(0.44067796610169496);
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

  it("scores tied pairs as sum(score of each pair) / len(pairs), as upstream's Counter does", () => {
    const answers = ["a", "a", "a", "b", "b", "b"];
    // (0.1 + 0.7) / 2; the mean of each pair's summed verdicts gives 0.3999999999999999
    expect(majorityScore(answers, [0.1, 0.1, 0.1, 0.7, 0.7, 0.7])).toBe(0.39999999999999997);
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

  it("gives numpy's bits: pairwise np.mean, two-pass np.std(ddof=1), Python's sum for avg_sample_std_dev", () => {
    // MMMU-Pro-like rows (12 questions x 4 seeds): verdicts and token counts; values from
    // NeMo-Skills' _add_std_metrics run with numpy 2.4.
    const verdicts = [
      [0, 1, 1, 0],
      [0, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 1, 1],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 1, 0, 0],
    ];
    const tokens = [
      [301, 140, 263, 251],
      [413, 58, 24, 231],
      [400, 366, 146, 312],
      [471, 25, 23, 14],
      [361, 226, 280, 401],
      [490, 293, 186, 356],
      [399, 497, 484, 223],
      [482, 105, 71, 468],
      [489, 269, 165, 310],
      [443, 211, 446, 255],
      [390, 222, 197, 461],
      [54, 349, 65, 276],
    ];
    const v = new RunStatisticsAccumulator(4);
    const t = new RunStatisticsAccumulator(4);
    for (const r of verdicts) v.add(r);
    for (const r of tokens) t.add(r);
    expect(v.result(3)).toEqual({
      avg: 0.19444444444444445,
      std_dev_across_runs: 0.1734721666221777,
      avg_sample_std_dev: 0.2886751345948129,
      std_err_across_runs: 0.10015420209622192,
    });
    expect(v.result(4).avg_sample_std_dev).toBe(0.2628917115316043);
    expect(t.result(2)).toEqual({
      avg: 310.5833333333333,
      std_dev_across_runs: 113.84419177103413,
      avg_sample_std_dev: 160.15968593875303,
      std_err_across_runs: 80.49999999999999,
    });
    expect(t.result(3)).toEqual({
      avg: 272.3333333333333,
      std_dev_across_runs: 104.25659451564681,
      avg_sample_std_dev: 147.62415025450517,
      std_err_across_runs: 60.19257290840235,
    });
    expect(t.result(4).avg_sample_std_dev).toBe(139.8419940330326);
  });

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
