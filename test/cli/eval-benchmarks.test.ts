import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";
import { cli, parseLines, tempDir } from "../helpers/dataset.js";

const data = path.join(repoRoot, "fixtures", "data");

/** What the simulator meant to answer: the letter of a last `Answer: X` line, or a bare answer (open questions). */
function simAnswer(generation: string): { open: boolean; text: string } {
  const letter = /\nAnswer: (.*)$/.exec(generation);
  return letter ? { open: false, text: letter[1]! } : { open: true, text: generation };
}

/** The simulator answers an open question right with the expected text (a list's first item), wrong with "#"s. */
function meantRight(row: Record<string, unknown>): boolean {
  const { text } = simAnswer(row.generation as string);
  return !/^#+$/.test(text);
}

describe("vlmpipe eval on every shipped benchmark", () => {
  it("runs mmmu, mmmu-pro, chartqa and docvqa on the simulator: a table each, every verdict its", async () => {
    const out = await tempDir();
    const r = await cli([
      "eval",
      "--benchmarks",
      "mmmu,mmmu-pro,chartqa,docvqa",
      "--model",
      "sim",
      "--server_type",
      "sim",
      "--sim_accuracy",
      "0.7",
      "--data_dir",
      data,
      "--output_dir",
      out,
      "--quiet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const b of ["mmmu", "mmmu-pro", "chartqa", "docvqa"]) expect(r.stdout).toContain(`-- ${b} --`);

    const read = async (b: string) => {
      const dir = path.join(out, "eval-results", b);
      return {
        rows: parseLines(await readFile(path.join(dir, "output.jsonl"), "utf8")),
        metrics: JSON.parse(await readFile(path.join(dir, "metrics.json"), "utf8")) as Record<
          string,
          Record<string, Record<string, number>>
        >,
        report: await readFile(path.join(dir, "report.html"), "utf8"),
      };
    };

    // MMMU: the authors' parser on letters and on open answers; subjects and disciplines.
    const mmmu = await read("mmmu");
    expect(mmmu.rows).toHaveLength(60);
    const open = mmmu.rows.filter((x) => x.question_type === "open");
    expect(open).toHaveLength(30);
    for (const row of mmmu.rows) {
      expect(simAnswer(row.generation as string).open, row.id as string).toBe(row.question_type === "open");
      if (row.question_type === "open") expect(row.symbolic_correct, row.id as string).toBe(meantRight(row));
      else
        expect(row.symbolic_correct, row.id as string).toBe(
          simAnswer(row.generation as string).text === row.expected_answer,
        );
      expect(row.official_random_fallback, row.id as string).toBeUndefined();
    }
    const right = mmmu.rows.filter((x) => x.symbolic_correct).length;
    expect(mmmu.metrics.mmmu!["pass@1"]!.symbolic_correct).toBeCloseTo((100 * right) / 60, 5);
    expect(Object.keys(mmmu.metrics).filter((k) => k !== "mmmu")).toHaveLength(30 + 6);
    const disciplines = [
      "Art_and_Design",
      "Business",
      "Science",
      "Health_and_Medicine",
      "Humanities_and_Social_Science",
      "Tech_and_Engineering",
    ];
    const inDisciplines = disciplines.map((d) => mmmu.metrics[`mmmu-${d}`]!["pass@1"]!.num_entries!);
    expect(inDisciplines).toEqual([8, 10, 10, 10, 8, 14]);
    expect(r.stdout).toContain("mmmu-Humanities_and_Social_Science");

    // ChartQA: relaxed accuracy, human and augmented.
    const chart = await read("chartqa");
    expect(chart.rows).toHaveLength(20);
    for (const row of chart.rows) expect(row.symbolic_correct, row.id as string).toBe(meantRight(row));
    expect(Object.keys(chart.metrics)).toEqual(["chartqa", "chartqa-human", "chartqa-augmented"]);
    expect(chart.metrics["chartqa-human"]!["pass@1"]!.num_entries).toBe(10);

    // DocVQA: ANLS 1 for the right answers, 0 for the simulator's wrong ones.
    const doc = await read("docvqa");
    expect(doc.rows).toHaveLength(20);
    for (const row of doc.rows) expect(row.anls, row.id as string).toBe(meantRight(row) ? 1 : 0);
    const anls = doc.metrics.docvqa!["pass@1"]!.anls!;
    expect(anls).toBeCloseTo((100 * doc.rows.filter((x) => x.anls === 1).length) / 20, 5);
    expect(r.stdout).toMatch(/-- docvqa --[\s\S]*\| anls /);
    expect(doc.report).toContain('"score":{"name":"ANLS","value"');

    // All four together, near the simulator's accuracy: 160 answers at p = 0.7, standard error 3.6 points.
    const rows = [...mmmu.rows, ...(await read("mmmu-pro")).rows, ...chart.rows, ...doc.rows];
    expect(rows).toHaveLength(160);
    expect(Math.abs((100 * rows.filter((x) => x.symbolic_correct).length) / 160 - 70)).toBeLessThan(11);
  }, 240_000); // four benchmarks on a shared 2-core machine
});
