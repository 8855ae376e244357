import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pyFixed2 } from "../../src/metrics/format.js";
import { benchmarkOutputs } from "../../src/metrics/locate.js";
import { gatherReport } from "../../src/report/gather.js";
import { writeReport } from "../../src/report/write-report.js";
import { tempDir } from "../helpers/dataset.js";
import { makeBenchmark } from "./helpers.js";

const gatherOpts = { maxSamples: 2000, textLimit: 20000, images: "none" as const };

/**
 * A benchmark folder `<tmp>/<name>/` with one output file per entry of `files` (output.jsonl for
 * one, output-rs<i>.jsonl for several), each written line by line as given: raw JSON text, so a
 * test can write `1.0` where JSON.stringify would write `1`.
 */
async function benchFolder(name: string, files: string[][]): Promise<string> {
  const dir = path.join(await tempDir("vlmpipe-report-numbers-"), name);
  await mkdir(dir, { recursive: true });
  const names = files.length === 1 ? ["output.jsonl"] : files.map((_, i) => `output-rs${i}.jsonl`);
  for (const [i, lines] of files.entries()) await writeFile(path.join(dir, names[i]!), `${lines.join("\n")}\n`);
  return dir;
}

function line(id: string, subset: string | undefined, right: boolean, extra = ""): string {
  const s = subset === undefined ? "" : `"subset_for_metrics":${subset},`;
  const answer = right ? "A" : "B";
  return `{"id":"${id}",${s}"expected_answer":"A","generation":"Answer: ${answer}","predicted_answer":"${answer}","symbolic_correct":${right},"num_generated_tokens":5${extra}}`;
}

/** The row of the subject table for `name` (a subject, a group or "all"), its cells' text. */
function subjectRow(html: string, name: string): string[] {
  const table = /<table class="subjects">[\s\S]*?<\/table>/.exec(html)![0];
  const row = new RegExp(`<tr[^>]*><th class="l">${name}</th>([\\s\\S]*?)</tr>`).exec(table);
  expect(row, `subject row ${name}`).not.toBeNull();
  return [...row![1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
}

function subjectHead(html: string): string[] {
  const table = /<table class="subjects"><thead>([\s\S]*?)<\/thead>/.exec(html)![1]!;
  return [...table.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => m[1]!);
}

function tile(html: string, key: string): { v: string; s: string } | undefined {
  const esc = key.replace(/[[\]().*+?^$|\\]/g, "\\$&");
  const m = new RegExp(`<div class="k">${esc}</div><div class="v">([^<]*)</div><div class="s">([^<]*)</div>`).exec(
    html,
  );
  return m ? { v: m[1]!, s: m[2]! } : undefined;
}

describe("report numbers are the metrics' numbers", () => {
  it("shows ANLS as the headline of a benchmark whose rows carry it, with exact match beside it", async () => {
    const lines = [
      `{"id":"q1","expected_answer":"1/8/93","generation":"1/8/1993","predicted_answer":"1/8/1993","anls":0.75,"symbolic_correct":false,"num_generated_tokens":4}`,
      `{"id":"q2","expected_answer":"ITC","generation":"ITC","predicted_answer":"ITC","anls":1,"symbolic_correct":true,"num_generated_tokens":2}`,
    ];
    const dir = await benchFolder("docvqa", [lines]);
    const html = await readFile(await writeReport(dir, { images: "none" }), "utf8");
    // The metrics table has summarize_results' anls column.
    const metrics = /<table class="metrics">[\s\S]*?<\/table>/.exec(html)![0];
    expect(metrics).toContain("<th>anls</th>");
    expect(metrics).toContain("<td>87.50%</td>");
    // The main tile: ANLS, exact match beside it.
    expect(tile(html, "ANLS · pass@1")?.v).toBe("87.50%");
    expect(html).toMatch(/exact match 50\.00%/);
    // The subject table: ANLS first, then exact match.
    const head = subjectHead(html);
    expect(head.slice(0, 5)).toEqual(["subject", "questions", "ANLS", "95% CI", "exact match"]);
    const row = subjectRow(html, "docvqa");
    expect(row[1]).toBe("87.50%");
    expect(row[3]).toBe("50.00%");
    // The chart draws ANLS.
    const chart = /<svg id="subject-chart"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(chart).toContain('data-accuracy="0.875"');
    expect(chart).toContain("ANLS, pass@1");
  });

  it("shows ANLS of each mode with seeds: majority@k and pass@k of ANLS, exact match beside", async () => {
    const run = (a: number, right: boolean) => [
      `{"id":"q1","subset_for_metrics":"form","predicted_answer":"x${a}","anls":${a},"symbolic_correct":${right},"num_generated_tokens":4}`,
    ];
    const dir = await benchFolder("docvqa", [run(0.5, false), run(1, true)]);
    const { data } = await gatherReport(benchmarkOutputs(dir), gatherOpts);
    const all = data.metrics._all_!;
    expect(data.subjects[0]!.accuracy).toBeCloseTo((all["pass@1[avg-of-2]"]!.anls as number) / 100, 12);
    expect(data.subjects[0]!.perRun).toEqual([0.5, 1]);
    const html = await readFile(await writeReport(dir, { images: "none" }), "utf8");
    const head = subjectHead(html);
    expect(head).toContain("majority@2");
    const row = subjectRow(html, "form");
    expect(row[1]).toBe("75.00%"); // ANLS, avg of 2
    expect(row[4]).toBe("50.00%"); // exact match
    expect(row[5]).toBe(`${pyFixed2(all["majority@2"]!.anls as number)}%`);
    expect(row[6]).toBe("100.00%"); // pass@2 of ANLS: the best of the two
  });

  it("formats a subject's accuracy as summarize_results does (3.125 is 3.12%, Python's rounding)", async () => {
    // 1 of 32 right: 3.125%, an exact binary tie that toFixed rounds up and Python to even.
    const lines = Array.from({ length: 32 }, (_, i) => line(`q${i}`, '"S"', i === 0));
    const dir = await benchFolder("tie", [lines]);
    const html = await readFile(await writeReport(dir, { images: "none" }), "utf8");
    expect(tile(html, "Accuracy · pass@1")?.v).toBe("3.12%");
    expect(subjectRow(html, "S")[1]).toBe("3.12%");
    expect(subjectRow(html, "all")[1]).toBe("3.12%");
    expect(html).not.toContain("3.13%");
  });

  it("shows MMMU's disciplines as metrics.json has them, after the subjects", async () => {
    const lines = [
      line("a1", '"Art"', true),
      line("a2", '"Art"', false),
      line("m1", '"Music"', false),
      line("s1", '"Math"', true),
    ];
    const dir = await benchFolder("mmmu", [lines]);
    const { data } = await gatherReport(benchmarkOutputs(dir), gatherOpts);
    expect(data.subjects.map((s) => [s.name, s.group === true])).toEqual([
      ["Art", false],
      ["Music", false],
      ["Math", false],
      ["Art_and_Design", true],
      ["Science", true],
    ]);
    expect(data.metrics.Art_and_Design!["pass@1"]!.symbolic_correct).toBeCloseTo(100 / 3, 9);
    const html = await readFile(await writeReport(dir, { images: "none" }), "utf8");
    expect(subjectRow(html, "Art_and_Design").slice(0, 2)).toEqual(["3", "33.33%"]);
    expect(subjectRow(html, "Science").slice(0, 2)).toEqual(["1", "100.00%"]);
    const chart = /<svg id="subject-chart"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(chart).toContain('data-subject="Art_and_Design"');
  });

  it("names a numeric subset as the metrics do (1.0 stays 1.0) and shows its numbers", async () => {
    const seed = (s: number) => [
      line("q0", "1.0", true),
      line("q1", "1.0", s === 0),
      line("q2", "2", false),
      line("q3", "1", true), // the same subset as 1.0 (Python's dict), named by its first row
    ];
    const dir = await benchFolder("bench", [seed(0), seed(1)]);
    const { data } = await gatherReport(benchmarkOutputs(dir), gatherOpts);
    expect(Object.keys(data.metrics).sort()).toEqual(["1.0", "2", "_all_"]);
    expect(data.subjects.map((s) => [s.name, s.questions])).toEqual([
      ["1.0", 3],
      ["2", 1],
    ]);
    expect(data.samples.rows.map((r) => r.subject)).toEqual(["1.0", "1.0", "2", "1.0"]);
    const html = await readFile(await writeReport(dir, { images: "none" }), "utf8");
    // questions, accuracy, CI, seed range, majority@2, pass@2, no answer, errors, disagreement, avg tokens
    const row = subjectRow(html, "1.0");
    expect(row[0]).toBe("3");
    expect(row[1]).toBe("83.33%");
    expect([row[5], row[6], row[7], row[9]]).toEqual(["100.00%", "0.00%", "0", "5"]);
  });

  it("shows avg_tokens in the tokens tile, failed rows counted as the metrics count them", async () => {
    // Tokens 10, 20, 30, 40, 50 and a failed row without any: avg_tokens is 150 / 6, truncated.
    const b = await makeBenchmark();
    const { data } = await gatherReport(benchmarkOutputs(b.bench), gatherOpts);
    expect(data.metrics._all_!["pass@1"]!.avg_tokens).toBe(25);
    const html = await readFile(await writeReport(b.bench, { images: "none" }), "utf8");
    expect(tile(html, "Tokens per answer")?.v).toBe("25");
  });
});
