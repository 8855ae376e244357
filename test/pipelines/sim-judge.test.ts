import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";
import { cli, parseLines, tempDir } from "../helpers/dataset.js";

const fixtures = path.join(repoRoot, "fixtures", "data");

describe("the shipped judge pipeline on the simulator (--server_type sim)", () => {
  it.each([
    ["chartqa", "test.jsonl"],
    ["docvqa", "validation.jsonl"],
  ])("judges each %s row's generation: true when it is the reference, false otherwise", async (bench, file) => {
    const d = await tempDir();
    await mkdir(path.join(d, bench));
    const out = path.join(d, bench, "output.jsonl");
    const r = await cli([
      "run",
      "open-answer-judge",
      "--server_type",
      "sim",
      "--model",
      "sim",
      "--input_file",
      path.join(fixtures, bench, file),
      "--output_file",
      out,
      "--quiet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseLines(await readFile(out, "utf8"));
    expect(rows.length).toBeGreaterThan(0);
    // The simulator answers an open row with its reference (right) or with #s (wrong).
    for (const row of rows) {
      expect(row.judge_correct, String(row.id)).toBe(row.generation === row.expected_answer);
      expect(row.judgement).toMatch(/\nJudgement: (Yes|No)$/);
    }
    const right = rows.filter((row) => row.judge_correct === true).length;
    expect(right).toBeGreaterThan(0);
    expect(right).toBeLessThan(rows.length);

    const s = await cli(["summarize_results", d]);
    expect(s.code, s.stderr).toBe(0);
    const metrics = JSON.parse(await readFile(path.join(d, "metrics.json"), "utf8"));
    expect(metrics[bench]["pass@1"].judge_correct).toBeCloseTo((100 * right) / rows.length, 5);
  });
});
