import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { computeMetrics } from "../../src/metrics/compute.js";
import type { GroupMetrics } from "../../src/metrics/types.js";

// Expected values: NeMo-Skills main's MathMetrics (base.py @ 1ffb46f, math_metrics.py @ 979c8ad)
// run with Python 3.11 and numpy 2.4 on the same rows.

const dir = mkdtempSync(path.join(tmpdir(), "vlmpipe-accumulator-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One output file per run: runs[s][i] is row i of run s. */
async function metricsOf(name: string, runs: object[][]): Promise<GroupMetrics> {
  const files = runs.map((rows, s) => {
    const file = path.join(dir, name, `output-rs${s}.jsonl`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    return file;
  });
  return (await computeMetrics(files))._all_!;
}

function withoutErrors(m: GroupMetrics): GroupMetrics {
  return Object.fromEntries(
    Object.entries(m).map(([mode, v]) => [
      mode,
      Object.fromEntries(Object.entries(v).filter(([k]) => k !== "num_errors")),
    ]),
  );
}

const failed = { expected_answer: "A", error: { stage: "generate", code: "VLM_E_TIMEOUT", message: "timed out" } };
const judged = (answer: string | null, ok: boolean, judge: "Yes" | "No") => ({
  predicted_answer: answer,
  symbolic_correct: ok,
  judgement: `Judgement: ${judge}`,
});

describe("rows without a verdict, as NeMo-Skills' score_dicts[0].keys() skips them", () => {
  it("leaves a row out of a method when its first run's line lacks the verdict, statistics included", async () => {
    const m = await metricsOf("first-run-lacks", [
      [
        { predicted_answer: "A", symbolic_correct: true },
        { predicted_answer: "A", symbolic_correct: false },
        { predicted_answer: "A" },
        { predicted_answer: "B" },
      ],
      [
        { predicted_answer: "A", symbolic_correct: false },
        { predicted_answer: "A", symbolic_correct: false },
        { predicted_answer: "A", symbolic_correct: true }, // a later run's verdict does not count
        { predicted_answer: null },
      ],
    ]);
    expect(m["pass@2"]).toMatchObject({ num_entries: 4, symbolic_correct: 25, no_answer: 0 });
    expect(m["majority@2"]!.symbolic_correct).toBe(12.5);
    expect(m["pass@1[avg-of-2]"]!.symbolic_correct_statistics).toEqual({
      avg: 0.25,
      std_dev_across_runs: 0.3535533905932738,
      avg_sample_std_dev: 0.3535533905932738,
      std_err_across_runs: 0.25,
    });
  });

  it("adds judge_correct, both_correct and any_correct after no_answer when judged rows come later", async () => {
    const m = await metricsOf("judged-later", [
      [{ predicted_answer: "A", symbolic_correct: true }, judged("B", false, "Yes"), judged("C", true, "No")],
      [{ predicted_answer: "B", symbolic_correct: false }, judged("B", false, "Yes"), judged("C", true, "Yes")],
    ]);
    const keys = ["num_entries", "symbolic_correct", "no_answer", "judge_correct", "both_correct", "any_correct"];
    expect(Object.keys(m["pass@2"]!)).toEqual([...keys, "num_errors"]);
    expect(m["pass@2"]).toMatchObject({
      symbolic_correct: 66.66666666666667,
      judge_correct: 66.66666666666667,
      both_correct: 33.333333333333336,
      any_correct: 66.66666666666667,
    });
    expect(m["majority@2"]).toMatchObject({ judge_correct: 50, both_correct: 16.666666666666668 });
    const avg = m["pass@1[avg-of-2]"]!;
    expect(avg.judge_correct_statistics).toEqual({
      avg: 0.75,
      std_dev_across_runs: 0.3535533905932738,
      avg_sample_std_dev: 0.3535533905932738,
      std_err_across_runs: 0.25,
    });
    expect(avg.any_correct_statistics).toMatchObject({ avg: 1, std_dev_across_runs: 0 });
  });

  it("counts a failed run as a wrong, unanswered, judged-wrong line for every method, also one first seen later", async () => {
    // The same rows with each failed line written as NeMo-Skills would score a wrong, unanswered one.
    const wrong = { predicted_answer: null, symbolic_correct: false, judgement: "Judgement: No" };
    const ours = await metricsOf("failed-first", [
      [failed, judged("A", true, "Yes"), failed],
      [failed, judged("B", false, "No"), judged("C", true, "Yes")],
    ]);
    const asUpstream = await metricsOf("failed-first-as-wrong", [
      [wrong, judged("A", true, "Yes"), wrong],
      [wrong, judged("B", false, "No"), judged("C", true, "Yes")],
    ]);
    expect(withoutErrors(ours)).toEqual(withoutErrors(asUpstream));
    expect(Object.keys(ours["pass@1"]!)).toEqual(Object.keys(asUpstream["pass@1"]!));
    expect(ours["pass@1"]!.num_errors).toBe(3);
    expect(ours["pass@1[avg-of-2]"]!.both_correct_statistics).toEqual({
      avg: 0.3333333333333333,
      std_dev_across_runs: 0,
      avg_sample_std_dev: 0.47140452079103173,
      std_err_across_runs: 0,
    });
    expect(ours["majority@2"]).toMatchObject({
      symbolic_correct: 50,
      judge_correct: 50,
      no_answer: 33.333333333333336,
    });
  });
});

describe("graded verdicts, as NeMo-Skills keeps them", () => {
  it("scores 0.5 as 0.5: best of k for pass@k, real averages, (answer, value) votes, Python's and/or", async () => {
    const m = await metricsOf("fractional", [
      [
        { predicted_answer: "A", symbolic_correct: 0.5, judgement: "Judgement: Yes" },
        { predicted_answer: "A", symbolic_correct: 0.25, judgement: "Judgement: No" },
        { predicted_answer: "B", symbolic_correct: 1 },
        { predicted_answer: "A", symbolic_correct: 0, judgement: "Judgement: Yes" },
      ],
      [
        { predicted_answer: "A", symbolic_correct: 0.5, judgement: "Judgement: No" },
        { predicted_answer: "B", symbolic_correct: 1, judgement: "Judgement: No" },
        { predicted_answer: "B", symbolic_correct: 0.5 },
        { predicted_answer: "B", symbolic_correct: 0.0, judgement: "Judgement: Yes" },
      ],
      [
        { predicted_answer: "B", symbolic_correct: 0, judgement: "Judgement: Yes" },
        { predicted_answer: "B", symbolic_correct: 0.25, judgement: "Judgement: Yes" },
        { predicted_answer: "A", symbolic_correct: true },
        { predicted_answer: "B", symbolic_correct: 0.75, judgement: "Judgement: No" },
      ],
    ]);
    expect(m["pass@1"]).toMatchObject({
      symbolic_correct: 43.75,
      judge_correct: 41.66666666666667,
      both_correct: 16.666666666666668,
      any_correct: 43.75,
    });
    expect(m["pass@2"]).toMatchObject({ symbolic_correct: 62.5, both_correct: 33.333333333333336, any_correct: 62.5 });
    expect(m["pass@3"]).toMatchObject({
      symbolic_correct: 81.25,
      judge_correct: 75,
      both_correct: 50,
      any_correct: 75,
    });
    expect(m["pass@1[avg-of-3]"]).toMatchObject({
      symbolic_correct: 47.916666666666664,
      any_correct: 52.08333333333333,
    });
    expect(m["majority@3"]).toMatchObject({
      symbolic_correct: 52.083333333333336,
      judge_correct: 41.666666666666664,
      both_correct: 16.666666666666664,
      any_correct: 47.916666666666664,
    });
    expect(m["pass@1[avg-of-3]"]!.symbolic_correct_statistics).toEqual({
      avg: 0.47916666666666663,
      std_dev_across_runs: 0.036084391824351615,
      avg_sample_std_dev: 0.36084391824351614,
      std_err_across_runs: 0.020833333333333336,
    });
    expect(m["pass@1[avg-of-3]"]!.any_correct_statistics).toEqual({
      avg: 0.6944444444444443,
      std_dev_across_runs: 0.1272937693043289,
      avg_sample_std_dev: 0.28867513459481287,
      std_err_across_runs: 0.07349309197401642,
    });
  });
});

describe("anls in each mode, as NeMo-Skills treats a score of its _get_score_dict", () => {
  it("takes pass@k of rows scored only 0 or 1 from the estimator, of graded rows the best of the first k", async () => {
    const row = (anls: number) => ({ predicted_answer: "x", symbolic_correct: anls === 1, anls });
    // Row 0 binary (1, 0, 0), row 1 graded (0.6, 0.9, 0).
    const m = await metricsOf("anls", [
      [row(1), row(0.6)],
      [row(0), row(0.9)],
      [row(0), row(0)],
    ]);
    // pass@1: row 0 1/3 (the estimator: the mean of its 3 runs), row 1 its first run's 0.6.
    expect(m["pass@1"]!.anls).toBeCloseTo((100 * (1 / 3 + 0.6)) / 2, 12);
    // pass@2: row 0 1 - C(2,2)/C(3,2) = 2/3, row 1 max(0.6, 0.9).
    expect(m["pass@2"]!.anls).toBeCloseTo((100 * (2 / 3 + 0.9)) / 2, 12);
    // avg-of-2: the means of the first two runs.
    expect(m["pass@1[avg-of-2]"]!.anls).toBeCloseTo((100 * (0.5 + 0.75)) / 2, 12);
    // The 0/1 row's anls agrees with its symbolic_correct in every mode.
    const binary = await metricsOf("anls-binary", [[row(1)], [row(0)], [row(1)]]);
    for (const mode of Object.keys(binary)) expect(binary[mode]!.anls).toBe(binary[mode]!.symbolic_correct);
  });
});

describe("num_errors", () => {
  it("counts the failed runs a mode reads: all of them for pass@k, the first k for avg-of-k and majority@k", async () => {
    const ok = { predicted_answer: "A", expected_answer: "A", symbolic_correct: true };
    const m = await metricsOf("errors-by-mode", [
      [ok, ok],
      [ok, ok],
      [failed, failed],
    ]);
    expect(m["pass@1"]!.num_errors).toBe(2);
    expect(m["pass@1[avg-of-2]"]!.num_errors).toBe(0);
    expect(m["majority@2"]!.num_errors).toBe(0);
    expect(m["pass@1[avg-of-3]"]!.num_errors).toBe(2);
    expect(m["majority@3"]!.num_errors).toBe(2);
  });
});
