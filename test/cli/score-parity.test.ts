import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";
import { cli, parseLines, tempDir } from "../helpers/dataset.js";

// Real GPT-4o outputs on MMMU-Pro with the official scorer's verdicts (see shared/data's README).
const shared = path.resolve(repoRoot, "../shared/data/mmmu-pro-gpt4o");
const FALLBACK_ROWS = {
  vision: ["validation_Accounting_5", "validation_Economics_29", "validation_Energy_and_Power_9"],
  standard: [] as string[],
};

describe.each([
  { name: "vision", file: "gpt-4o_vision_cot.jsonl", correct: 866, pct: "50.06" },
  { name: "standard", file: "gpt-4o_standard-10-options_cot.jsonl", correct: 952, pct: "55.03" },
] as const)("vlmpipe score --eval_type mmmu-pro-official on GPT-4o $name outputs", ({ name, file, correct, pct }) => {
  it(`reproduces the official parser's letters and ${pct}% accuracy`, async () => {
    const out = path.join(await tempDir(), "scored.jsonl");
    const r = await cli([
      "score",
      "--input_file",
      path.join(shared, file),
      "--output_file",
      out,
      "--eval_type",
      "mmmu-pro-official",
      "--generation_key",
      "response",
      "--expected_answer_key",
      "answer",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseLines(await readFile(out, "utf8"));
    expect(rows).toHaveLength(1730);

    const fallback = rows.filter((x) => x.official_random_fallback === true).map((x) => x.id);
    expect(fallback.sort()).toEqual([...FALLBACK_ROWS[name]].sort());
    const mismatched = rows.filter((x) => x.official_random_fallback !== true && x.predicted_answer !== x.pred_indexs);
    expect(mismatched.map((x) => x.id)).toEqual([]);

    // Accuracy against each row's own answer; fallback rows may land either way.
    const right = rows.filter((x) => x.symbolic_correct === true).length;
    const officialOnFallback = rows.filter((x) => fallback.includes(x.id) && x.if_right === true).length;
    const oursOnFallback = rows.filter((x) => fallback.includes(x.id) && x.symbolic_correct === true).length;
    expect(right - oursOnFallback + officialOnFallback).toBe(correct);
    expect(Math.abs(right - correct)).toBeLessThanOrEqual(fallback.length);
    expect(r.stderr).toMatch(/1730 rows, symbolic_correct \d+\.\d\d%/);
    expect(r.stderr).toMatch(/extractors disagree on \d+\/\d+ rows/);
  });
});

describe("vlmpipe score as a filter", () => {
  it("re-scores NeMo-Skills-style rows from stdin with the multichoice extractor", async () => {
    const rows = [
      { generation: "Thinking...\nAnswer: B", expected_answer: "B" },
      { generation: "The final answer is C", expected_answer: "B" },
      { generation: "no idea", expected_answer: "A" },
    ];
    const r = await cli(
      ["score", "--input_file", "-", "--output_file", "-"],
      rows.map((x) => JSON.stringify(x)).join("\n"),
    );
    expect(r.code).toBe(0);
    expect(parseLines(r.stdout).map((x) => [x.predicted_answer, x.symbolic_correct])).toEqual([
      ["B", true],
      ["C", false],
      [null, false],
    ]);
  });

  it("re-scoring replaces an earlier scoring's verdict and failure; a row it cannot score keeps no old verdict", async () => {
    const rows = [
      // NeMo-Skills-style rows, with no options: the official parser fails every one of them.
      { generation: "Answer: B", expected_answer: "B", predicted_answer: "B", symbolic_correct: true },
      { generation: "Answer: C", expected_answer: "B", predicted_answer: "C", symbolic_correct: false },
    ];
    const official = await cli(
      ["score", "--input_file", "-", "--output_file", "-", "--eval_type", "mmmu-pro-official"],
      rows.map((x) => JSON.stringify(x)).join("\n"),
    );
    expect(official.code).toBe(3);
    const failed = parseLines(official.stdout);
    expect(failed.map((x) => (x.error as { stage?: string } | undefined)?.stage)).toEqual([
      "extractAnswer",
      "extractAnswer",
    ]);
    expect(failed.every((x) => !("predicted_answer" in x) && !("symbolic_correct" in x))).toBe(true);
    // The failure of that scoring goes with a new one that succeeds.
    const again = await cli(
      ["score", "--input_file", "-", "--output_file", "-", "--eval_type", "multichoice"],
      official.stdout,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(parseLines(again.stdout).map((x) => [x.predicted_answer, x.symbolic_correct, x.error])).toEqual([
      ["B", true, undefined],
      ["C", false, undefined],
    ]);
  });

  it("anls: a row without gold answers gets no verdict; the summary has ANLS; a re-scoring drops the old anls", async () => {
    const rows = [
      { id: "a", generation: "ITC", answers: ["ITC"], expected_answer: "ITC" },
      { id: "b", generation: "ITD", answers: ["ITC limited"], expected_answer: "ITC limited" },
      // The test split's shape: answers withheld.
      { id: "t", generation: "ITC", answers: [], expected_answer: null },
    ];
    const anls = await cli(
      ["score", "--input_file", "-", "--output_file", "-", "--eval_type", "anls"],
      rows.map((x) => JSON.stringify(x)).join("\n"),
    );
    expect(anls.code, anls.stderr).toBe(0);
    const scored = parseLines(anls.stdout);
    expect(scored.map((x) => [x.symbolic_correct, x.anls])).toEqual([
      [true, 1],
      [false, 0],
      [undefined, undefined],
    ]);
    expect("symbolic_correct" in scored[2]!).toBe(false);
    expect(anls.stderr).toMatch(/symbolic_correct 33\.33% \(1\), anls 33\.33%, /);
    // ChartQA's relaxed accuracy declines such a row the same way.
    const relaxed = await cli(
      ["score", "--input_file", "-", "--output_file", "-", "--eval_type", "relaxed-accuracy"],
      JSON.stringify(rows[2]),
    );
    expect("symbolic_correct" in parseLines(relaxed.stdout)[0]!).toBe(false);
    // A multichoice re-scoring writes no anls: the earlier one's is not kept beside its verdict.
    const again = await cli(["score", "--input_file", "-", "--output_file", "-"], anls.stdout);
    expect(parseLines(again.stdout).every((x) => !("anls" in x))).toBe(true);
  });

  it("takes NeMo-Skills' ++eval_config extraction keys and vlmpipe's opt-ins; a row's own keys win", async () => {
    const rows = [
      { id: "a", generation: "\\boxed{\\Delta E}\n**Answer: D**", expected_answer: "D" },
      { id: "b", generation: "Pick: c", expected_answer: " C" },
      { id: "c", generation: "Pick: b", expected_answer: "B", extract_regex: "Choice: ([a-d])" },
    ];
    const input = rows.map((x) => JSON.stringify(x)).join("\n");
    const letters = (stdout: string) => parseLines(stdout).map((x) => [x.predicted_answer, x.symbolic_correct]);
    const plain = await cli(["score", "--input_file", "-", "--output_file", "-"], input);
    expect(letters(plain.stdout)).toEqual([
      ["E", false],
      [null, false],
      [null, false],
    ]);
    const opted = await cli(
      [
        "score",
        "--input_file",
        "-",
        "--output_file",
        "-",
        "++eval_config.extract_regex=Pick: ([a-d])",
        "++eval_config.answer_line_first=true",
        "++eval_config.normalize_expected_answer=true",
      ],
      input,
    );
    expect(opted.code, opted.stderr).toBe(0);
    expect(letters(opted.stdout)).toEqual([
      ["D", true],
      ["C", true],
      [null, false],
    ]);
  });

  it("stops before reading a row when ++eval_config.extract_regex is not a usable Python regex", async () => {
    const args = ["score", "--input_file", "-", "--output_file", "-", "++eval_config.extract_regex=(?>x)"];
    const r = await cli(args, "{}");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/extract_regex.*atomic groups/);
  });
});
