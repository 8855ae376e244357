import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { computeMetrics, computeSubsetMetrics, nameSubsets } from "../../src/metrics/compute.js";

const dir = mkdtempSync(path.join(tmpdir(), "vlmpipe-metrics-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, rows: object[]): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}

// 4 questions x 3 seeds. Row answers and verdicts per seed:
//   q0 Art  A A B  (1 1 0)     q1 Art  C - C  (0 0 0)
//   q2 Bio  B A err (1 0 0)    q3 Bio  A B -  (1 0 0)
type Run = { answer: string | null; ok: boolean; error?: boolean; tokens?: number };
const QUESTIONS: Array<{ subset: string; runs: Run[] }> = [
  {
    subset: "Art",
    runs: [
      { answer: "A", ok: true },
      { answer: "A", ok: true },
      { answer: "B", ok: false },
    ],
  },
  {
    subset: "Art",
    runs: [
      { answer: "C", ok: false },
      { answer: null, ok: false, tokens: 40 },
      { answer: "C", ok: false },
    ],
  },
  {
    subset: "Bio",
    runs: [
      { answer: "B", ok: true },
      { answer: "A", ok: false },
      { answer: null, ok: false, error: true },
    ],
  },
  {
    subset: "Bio",
    runs: [
      { answer: "A", ok: true },
      { answer: "B", ok: false },
      { answer: null, ok: false },
    ],
  },
];

function seedFile(seed: number): string {
  return write(
    `output-rs${seed}.jsonl`,
    QUESTIONS.map((q, i) => {
      const r = q.runs[seed]!;
      const base = { problem: `q${i}`, expected_answer: "X", subset_for_metrics: q.subset, id: `q${i}` };
      if (r.error) return { ...base, error: { stage: "generate", code: "VLM_E_TIMEOUT", message: "timed out" } };
      return {
        ...base,
        generation: `Answer: ${r.answer ?? "?"}`,
        num_generated_tokens: r.tokens ?? 10,
        generation_start_time: 1000.5 + i,
        generation_end_time: 1100.9 - i,
        predicted_answer: r.answer,
        symbolic_correct: r.ok,
      };
    }),
  );
}

describe("computeMetrics over seeds", async () => {
  const files = [seedFile(2), seedFile(0), seedFile(1)]; // sorted by name inside
  const m = await computeMetrics(files);
  const all = m._all_!;

  it("lists every mode for k = 1..3 in NeMo-Skills' order, subsets after the whole", () => {
    expect(Object.keys(m)).toEqual(["_all_", "Art", "Bio"]);
    expect(Object.keys(all)).toEqual([
      "pass@1",
      "pass@2",
      "pass@1[avg-of-2]",
      "pass@3",
      "pass@1[avg-of-3]",
      "majority@2",
      "majority@3",
    ]);
  });

  it("computes pass@k with the unbiased estimator over all runs", () => {
    expect(all["pass@1"]!.symbolic_correct).toBeCloseTo((100 * (4 / 3)) / 4, 10);
    expect(all["pass@2"]!.symbolic_correct).toBeCloseTo((100 * (7 / 3)) / 4, 10);
    expect(all["pass@3"]!.symbolic_correct).toBeCloseTo(75, 10);
  });

  it("averages the first k runs for pass@1[avg-of-k]", () => {
    expect(all["pass@1[avg-of-2]"]!.symbolic_correct).toBeCloseTo(50, 10);
    expect(all["pass@1[avg-of-3]"]!.symbolic_correct).toBeCloseTo(100 / 3, 10);
  });

  it("votes majority@k over answered runs, averaging ties", () => {
    expect(all["majority@2"]!.symbolic_correct).toBeCloseTo(50, 10);
    expect(all["majority@3"]!.symbolic_correct).toBeCloseTo(50, 10);
  });

  it("counts no answer, an errored run included, per mode", () => {
    expect(all["pass@1"]!.no_answer).toBe(0);
    expect(all["pass@3"]!.no_answer).toBe(0);
    expect(all["pass@1[avg-of-2]"]!.no_answer).toBeCloseTo(12.5, 10);
    expect(all["pass@1[avg-of-3]"]!.no_answer).toBeCloseTo(25, 10);
    expect(all["majority@3"]!.no_answer).toBe(0);
  });

  it("reports entries, tokens, wall time and errors", () => {
    expect(all["pass@1"]).toMatchObject({ num_entries: 4, avg_tokens: 11, gen_seconds: 100, num_errors: 1 });
  });

  it("adds NeMo-Skills' variance statistics to pass@1[avg-of-k]", () => {
    const s2 = all["pass@1[avg-of-2]"]!.symbolic_correct_statistics as Record<string, number>;
    expect(s2.avg).toBeCloseTo(0.5, 12);
    expect(s2.std_dev_across_runs).toBeCloseTo(Math.sqrt(0.125), 12);
    expect(s2.std_err_across_runs).toBeCloseTo(0.25, 12);
    expect(s2.avg_sample_std_dev).toBeCloseTo(Math.sqrt(0.125), 12);
    const s3 = all["pass@1[avg-of-3]"]!.symbolic_correct_statistics as Record<string, number>;
    expect(s3.avg).toBeCloseTo(1 / 3, 12);
    expect(s3.std_dev_across_runs).toBeCloseTo(0.3818813079129867, 12);
    expect(s3.std_err_across_runs).toBeCloseTo(0.3818813079129867 / Math.sqrt(3), 12);
    expect(s3.avg_sample_std_dev).toBeCloseTo((2 * Math.sqrt(1 / 3) + Math.sqrt(1 / 3)) / 4, 12);
    expect(all["pass@1[avg-of-3]"]).toHaveProperty("answer_tokens_statistics");
    expect(all["pass@1[avg-of-3]"]).toHaveProperty("reasoning_tokens_statistics");
  });

  it("computes each subset on its own rows", () => {
    expect(m.Art!["pass@3"]!.symbolic_correct).toBeCloseTo(50, 10);
    expect(m.Bio!["pass@3"]!.symbolic_correct).toBeCloseTo(100, 10);
    expect(m.Art!["pass@1[avg-of-2]"]!.no_answer).toBeCloseTo(25, 10);
    expect(m.Art!["pass@1"]).toMatchObject({ num_entries: 2, num_errors: 0 });
    expect(m.Bio!["pass@1"]).toMatchObject({ num_entries: 2, num_errors: 1 });
  });

  it("names subsets <benchmark>-<subset>", () => {
    expect([...nameSubsets("mmmu-pro", m).keys()]).toEqual(["mmmu-pro", "mmmu-pro-Art", "mmmu-pro-Bio"]);
  });
});

describe("computeMetrics on a greedy file", () => {
  it("has the single mode pass@1; an errored row is wrong, unanswered and counted", async () => {
    const file = write("greedy/output.jsonl", []);
    writeFileSync(
      file,
      [
        { expected_answer: "A", predicted_answer: "A", symbolic_correct: true, num_generated_tokens: 7 },
        { expected_answer: "B", predicted_answer: "C", symbolic_correct: false, num_generated_tokens: 9 },
        { expected_answer: "C", error: { stage: "generate", code: "VLM_E_HTTP", message: "500" } },
      ]
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    const m = await computeMetrics([file]);
    expect(Object.fromEntries(nameSubsets("bench", m))).toEqual({
      bench: {
        "pass@1": { num_entries: 3, avg_tokens: 5, symbolic_correct: 100 / 3, no_answer: 100 / 3, num_errors: 1 },
      },
    });
  });
});

describe("computeMetrics on fields NeMo-Skills reads its own way", () => {
  it("reads a foreign `error` field as data, as NeMo-Skills does; vlmpipe's coded error is a failed row", async () => {
    const file = write("foreign-error/output.jsonl", [
      { expected_answer: "A", predicted_answer: "A", symbolic_correct: true, error: "judge timed out" },
      { expected_answer: "A", predicted_answer: "A", symbolic_correct: true, error: { message: "x", code: 3 } },
      {
        expected_answer: "A",
        predicted_answer: "B",
        symbolic_correct: false,
        error: { stage: "generate", code: "VLM_E_HTTP" },
      },
    ]);
    const m = Object.fromEntries(nameSubsets("bench", await computeMetrics([file])));
    const want = { num_entries: 3, symbolic_correct: 200 / 3, no_answer: 100 / 3, num_errors: 1 };
    expect(m.bench!["pass@1"]).toEqual(want);
  });

  it("makes a null subset_for_metrics its own subset, <benchmark>-None", async () => {
    const file = write("null-subset/output.jsonl", [
      { expected_answer: "A", predicted_answer: "A", symbolic_correct: true, subset_for_metrics: null },
      { expected_answer: "A", predicted_answer: "B", symbolic_correct: false, subset_for_metrics: "Art" },
      { expected_answer: "A", predicted_answer: "B", symbolic_correct: false },
    ]);
    const m = nameSubsets("bench", await computeMetrics([file]));
    expect([...m.keys()]).toEqual(["bench", "bench-None", "bench-Art"]);
    expect(m.get("bench-None")!["pass@1"]!.num_entries).toBe(1);
  });
});

describe("subsets that are numbers, as Python's dict keys them", () => {
  it("names a float subset as str() does and keeps 1, 1.0 and true as one subset named by its first row", async () => {
    const f = path.join(dir, "numeric-subsets.jsonl");
    const subsets = ["1.0", "1", "true", '"1"', "false", "-0.0", "2e3", "12345678901234567890"];
    writeFileSync(
      f,
      subsets
        .map((s, i) => `{"predicted_answer": "A", "symbolic_correct": ${i % 2 === 0}, "subset_for_metrics": ${s}}\n`)
        .join(""),
    );
    const m = await computeSubsetMetrics([f]);
    expect([...m.keys()]).toEqual(["_all_", "1.0", "1", "False", "2000.0", "12345678901234567890"]);
    expect(m.get("1.0")!["pass@1"]).toMatchObject({ num_entries: 3, symbolic_correct: 200 / 3 });
    expect(m.get("False")!["pass@1"]).toMatchObject({ num_entries: 2, symbolic_correct: 50 });
  });
});

describe("majority@k over answers that are numbers, as Python's Counter keys them", () => {
  it("merges 1, true and 1.0, keeps ints beyond 2^53 exact, and votes a bare NaN as one answer", async () => {
    // Each row's four runs; the values are NeMo-Skills' (base.py _compute_majority_at_k, run on these lines).
    const rows = [
      [
        '"predicted_answer": 1, "symbolic_correct": true',
        '"predicted_answer": true, "symbolic_correct": 1',
        '"predicted_answer": 2, "symbolic_correct": false',
        '"predicted_answer": 2, "symbolic_correct": false',
      ],
      [
        '"predicted_answer": 9007199254740993, "symbolic_correct": true',
        '"predicted_answer": 9007199254740992, "symbolic_correct": true',
        '"predicted_answer": 5.0, "symbolic_correct": false',
        '"predicted_answer": 5, "symbolic_correct": false',
      ],
      [
        '"predicted_answer": NaN, "symbolic_correct": true',
        '"predicted_answer": NaN, "symbolic_correct": true',
        '"predicted_answer": NaN, "symbolic_correct": false',
        '"predicted_answer": NaN, "symbolic_correct": false',
      ],
    ];
    const expected = [
      { m3: 1, m4: 0.5 }, // (1, True) twice beats (2, False) at k=3, ties it at k=4
      { m3: 2 / 3, m4: 0 }, // 9007199254740993 and ...992 are two answers; 5.0 and 5 one
      { m3: 1, m4: 0.5 }, // every NaN is json.loads' one NaN object: one answer, not None
    ];
    for (const [i, runs] of rows.entries()) {
      const files = runs.map((line, seed) => {
        const f = path.join(dir, `py-keys-${i}`, `output-rs${seed}.jsonl`);
        mkdirSync(path.dirname(f), { recursive: true });
        writeFileSync(f, `{${line}}\n`);
        return f;
      });
      const m = (await computeMetrics(files))._all_!;
      expect(m["majority@3"]!.symbolic_correct, `row ${i}`).toBe(100 * expected[i]!.m3);
      expect(m["majority@4"]!.symbolic_correct, `row ${i}`).toBe(100 * expected[i]!.m4);
      expect(m["pass@1[avg-of-4]"]!.no_answer, `row ${i}`).toBe(0);
    }
  });

  it("keeps subsets 9007199254740993 and 9007199254740992 apart, as Python's dict does", async () => {
    const f = path.join(dir, "big-subsets.jsonl");
    writeFileSync(
      f,
      ["9007199254740993", "9007199254740992", "9007199254740992.0"]
        .map((s) => `{"predicted_answer": "A", "symbolic_correct": true, "subset_for_metrics": ${s}}\n`)
        .join(""),
    );
    const m = await computeSubsetMetrics([f]);
    expect([...m.keys()]).toEqual(["_all_", "9007199254740993", "9007199254740992"]);
    expect(m.get("9007199254740992")!["pass@1"]!.num_entries).toBe(2);
  });
});

describe("computeMetrics on NeMo-Skills' own output files", () => {
  it("reads their fields (no errors, no extractor columns) and puts every row in pass@1", async () => {
    const nemoRow = (i: number, pred: string | null, ok: boolean) => ({
      problem: `Question ${i}`,
      options: "['x', 'y']",
      expected_answer: "A",
      generation: `The final answer is ${pred}`,
      num_generated_tokens: 100 + i,
      generation_start_time: 1700000000.25,
      generation_end_time: 1700000042.75,
      generation_time: 42.5,
      predicted_answer: pred,
      symbolic_correct: ok,
    });
    const f0 = write("nemo/output-rs0.jsonl", [nemoRow(0, "A", true), nemoRow(1, null, false)]);
    const f1 = write("nemo/output-rs1.jsonl", [nemoRow(0, "B", false), nemoRow(1, "A", true)]);
    const m = await computeMetrics([f0, f1]);
    expect(Object.keys(m)).toEqual(["_all_"]);
    const p = m._all_!;
    expect(p["pass@1"]).toEqual({
      num_entries: 2,
      avg_tokens: 100,
      gen_seconds: 42,
      symbolic_correct: 50,
      no_answer: 50,
      num_errors: 0,
    });
    expect(p["pass@2"]).toMatchObject({ symbolic_correct: 100, no_answer: 0 });
    expect(p["majority@2"]).toMatchObject({ symbolic_correct: 75, no_answer: 0 }); // q0 tie A/B -> 0.5; q1 only A -> 1
    expect(p["pass@1[avg-of-2]"]).toMatchObject({ symbolic_correct: 50, no_answer: 25 });
  });
});

describe("judged rows, as NeMo-Skills' MathMetrics scores them", () => {
  it("reads judge_correct from `judgement`, adds both_correct and any_correct, and their statistics", async () => {
    const rows = [
      { predicted_answer: "A", symbolic_correct: true, judgement: "Judgement: No" },
      { predicted_answer: "B", symbolic_correct: false, judgement: "**Judgement**: yes, it matches" },
      // The first verdict counts; a text without one is judged wrong.
      { predicted_answer: "C", symbolic_correct: true, judgement: "Judgement: Yes\nJudgement: No" },
      { predicted_answer: "D", symbolic_correct: false, judgement: "I cannot tell.", judge_correct: true },
    ];
    const m = await computeMetrics([write("judged/output-rs0.jsonl", rows), write("judged/output-rs1.jsonl", rows)]);
    const p = m._all_!;
    expect(Object.keys(p["pass@2"]!)).toEqual([
      "num_entries",
      "symbolic_correct",
      "judge_correct",
      "both_correct",
      "any_correct",
      "no_answer",
      "num_errors",
    ]);
    expect(p["pass@2"]).toMatchObject({ symbolic_correct: 50, judge_correct: 50, both_correct: 25, any_correct: 75 });
    expect(p["majority@2"]).toMatchObject({
      symbolic_correct: 50,
      judge_correct: 50,
      both_correct: 25,
      any_correct: 75,
    });
    const avg = p["pass@1[avg-of-2]"]!;
    expect(Object.keys(avg).filter((k) => k.endsWith("_statistics"))).toEqual([
      "reasoning_tokens_statistics",
      "answer_tokens_statistics",
      "symbolic_correct_statistics",
      "judge_correct_statistics",
      "both_correct_statistics",
      "any_correct_statistics",
    ]);
    expect((avg.judge_correct_statistics as Record<string, number>).avg).toBeCloseTo(0.5, 12);
  });

  it("shows judge_correct alone for judged rows without symbolic_correct (vlmpipe's judge pipeline)", async () => {
    const f = write("judge-only/output.jsonl", [
      { predicted_answer: null, generation: "x", judgement: "Judgement: Yes", judge_correct: true },
      { predicted_answer: null, generation: "y", judgement: "Judgement: No", judge_correct: false },
    ]);
    const p = (await computeMetrics([f]))._all_!["pass@1"]!;
    expect(p.judge_correct).toBe(50);
    expect(p).not.toHaveProperty("symbolic_correct");
    expect(p).not.toHaveProperty("both_correct");
  });
});

describe("gen_seconds, as NeMo-Skills' try/except reads the times", () => {
  it("leaves out a row's end times when the row has no start time, and keeps a start without an end", async () => {
    const f = write("times/output.jsonl", [
      { symbolic_correct: true, predicted_answer: "A", generation_start_time: 100, generation_end_time: 110 },
      { symbolic_correct: false, predicted_answer: "B", generation_end_time: 5000 },
      { symbolic_correct: false, predicted_answer: "B", generation_start_time: 50 },
    ]);
    expect((await computeMetrics([f]))._all_!["pass@1"]!.gen_seconds).toBe(60);
  });
});

describe("computeMetrics on broken inputs", () => {
  it("refuses files with different row counts", async () => {
    const a = write("uneven/output-rs0.jsonl", [{ symbolic_correct: true }, { symbolic_correct: true }]);
    const b = write("uneven/output-rs1.jsonl", [{ symbolic_correct: true }]);
    await expect(computeMetrics([a, b])).rejects.toMatchObject({ code: "VLM_E_USAGE" });
  });

  it("names the file and line of a line that is not JSON", async () => {
    const f = path.join(dir, "bad.jsonl");
    writeFileSync(f, '{"symbolic_correct": true}\n{"symbolic_correct": false}\n{oops\n');
    await expect(computeMetrics([f])).rejects.toThrow(/bad\.jsonl:3: not valid JSON/);
  });

  it("reads bare NaN, Infinity and -Infinity as Python's json.loads does (as null), not inside strings", async () => {
    const f = path.join(dir, "non-finite.jsonl");
    writeFileSync(
      f,
      '{"predicted_answer": "NaN", "symbolic_correct": true, "reward": NaN, "x": [Infinity, -Infinity], "note": "Infinity, NaN"}\n' +
        '{"predicted_answer": "B", "symbolic_correct": false, "num_generated_tokens": NaN, "subset_for_metrics": NaN}\n',
    );
    const m = await computeMetrics([f]);
    expect(Object.keys(m)).toEqual(["_all_", "nan"]); // Python: str(float("nan"))
    expect(m._all_!["pass@1"]).toEqual({ num_entries: 2, symbolic_correct: 50, no_answer: 0, num_errors: 0 });
    writeFileSync(f, '{"symbolic_correct": true, "reward": NaNa}\n');
    await expect(computeMetrics([f])).rejects.toThrow(/non-finite\.jsonl:1: not valid JSON/);
  });

  it("refuses a blank line before other lines (it would shift that run's rows), and skips blank lines at the end", async () => {
    const a = write("blank/output-rs0.jsonl", [{ symbolic_correct: true }, { symbolic_correct: false }]);
    const b = path.join(dir, "blank", "output-rs1.jsonl");
    writeFileSync(b, '{"symbolic_correct": true}\n\n{"symbolic_correct": false}\n');
    await expect(computeMetrics([a, b])).rejects.toThrow(
      /output-rs1\.jsonl line 2 is blank: each line must be one row/,
    );
    writeFileSync(b, '{"symbolic_correct": true}\n{"symbolic_correct": false}\n\n \n');
    const m = await computeMetrics([a, b]);
    expect(m._all_!["pass@1[avg-of-2]"]).toMatchObject({ num_entries: 2, symbolic_correct: 50 });
  });

  it("counts the extractor disagreement where both extractors answered", async () => {
    const f = write("disagree/output.jsonl", [
      {
        predicted_answer: "A",
        predicted_answer_multichoice: "A",
        predicted_answer_official: "A",
        symbolic_correct: true,
      },
      {
        predicted_answer: "B",
        predicted_answer_multichoice: "C",
        predicted_answer_official: "B",
        symbolic_correct: false,
      },
      {
        predicted_answer: null,
        predicted_answer_multichoice: null,
        predicted_answer_official: "D",
        symbolic_correct: false,
      },
    ]);
    const m = await computeMetrics([f]);
    expect(m._all_!["pass@1"]!.extractor_disagreement).toBe(50);
  });
});
