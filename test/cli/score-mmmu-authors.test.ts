import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { disciplineOf, MMMU_DISCIPLINES } from "../../src/benchmarks/mmmu/subjects.js";
import { repoRoot } from "../helpers/bin.js";
import { cli, parseLines, tempDir } from "../helpers/dataset.js";

// The MMMU authors' published LLaVA-1.5-13B outputs and their parser's reading of each row.
const DATA = path.resolve(repoRoot, "../shared/data/mmmu-examples/llava1.5_13b");
const REF = path.join(repoRoot, "fixtures/parity/mmmu-examples-authors-parse.jsonl");
type Ref = { model: string; subject: string; id: string; correct: boolean; random_fallback: boolean };
const refs = new Map(
  readFileSync(REF, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Ref)
    .filter((r) => r.model === "llava1.5_13b")
    .map((r) => [r.id, r]),
);
const SCORE = ["--generation_key", "response", "--expected_answer_key", "answer", "--eval_type", "mmmu-official"];

describe("vlmpipe score on the MMMU authors' own output files", () => {
  it("reads a JSON array file as it is, with --generation_key response --expected_answer_key answer", async () => {
    const out = path.join(await tempDir(), "scored.jsonl");
    const r = await cli([
      "score",
      "--input_file",
      path.join(DATA, "Accounting", "output.json"),
      "--output_file",
      out,
      ...SCORE,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseLines(await readFile(out, "utf8"));
    expect(rows).toHaveLength(30);
    for (const row of rows) {
      const ref = refs.get(row.id as string)!;
      if (!ref.random_fallback) expect(row.symbolic_correct, row.id as string).toBe(ref.correct);
    }
  });

  it("gives the authors' accuracy per subject, discipline and overall via score and summarize_results", async () => {
    const dir = await tempDir();
    const subjects = (await readdir(DATA)).sort();
    expect(subjects).toHaveLength(30);
    // Their 30 files as one JSONL, each row tagged with its subject for the per-subset metrics.
    const lines: string[] = [];
    for (const subject of subjects) {
      const rows = JSON.parse(await readFile(path.join(DATA, subject, "output.json"), "utf8")) as Record<
        string,
        unknown
      >[];
      for (const row of rows) lines.push(JSON.stringify({ ...row, subset_for_metrics: subject }));
    }
    await writeFile(path.join(dir, "all.jsonl"), `${lines.join("\n")}\n`);
    await mkdir(path.join(dir, "results", "mmmu"), { recursive: true });
    const scored = path.join(dir, "results", "mmmu", "output.jsonl");
    const r = await cli(["score", "--input_file", path.join(dir, "all.jsonl"), "--output_file", scored, ...SCORE]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseLines(await readFile(scored, "utf8"));
    expect(rows).toHaveLength(900);

    const s = await cli(["summarize_results", path.join(dir, "results")]);
    expect(s.code, s.stderr).toBe(0);
    const metrics = JSON.parse(await readFile(path.join(dir, "results", "metrics.json"), "utf8")) as Record<
      string,
      Record<string, Record<string, number>>
    >;

    // The authors' verdicts, except on their random-fallback rows, where only ours can be known.
    const expected = (keep: (row: Record<string, unknown>) => boolean) => {
      const mine = rows.filter(keep);
      const right = mine.filter((row) => {
        const ref = refs.get(row.id as string)!;
        return ref.random_fallback ? row.symbolic_correct === true : ref.correct;
      }).length;
      return { n: mine.length, acc: (100 * right) / mine.length };
    };
    const check = (key: string, keep: (row: Record<string, unknown>) => boolean) => {
      const e = expected(keep);
      expect(metrics[key]!["pass@1"]!.num_entries, key).toBe(e.n);
      expect(metrics[key]!["pass@1"]!.symbolic_correct, key).toBeCloseTo(e.acc, 9);
    };
    check("mmmu", () => true);
    for (const subject of subjects) check(`mmmu-${subject}`, (row) => row.subset_for_metrics === subject);
    for (const d of MMMU_DISCIPLINES) {
      check(`mmmu-${d.replaceAll(" ", "_")}`, (row) => disciplineOf(row.subset_for_metrics as string) === d);
    }
    // 330 of 900 with the authors' own fallback draws; the two fallback rows may differ here.
    expect(Math.abs(metrics.mmmu!["pass@1"]!.symbolic_correct! - (100 * 330) / 900)).toBeLessThanOrEqual(
      (100 * 2) / 900 + 1e-9,
    );
  });
});
