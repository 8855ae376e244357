import { readFileSync } from "node:fs";
import { join } from "node:path";
import { firstValueFrom, from, pipe, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { parseGenerationConfig } from "../../src/config/generation-config.js";
import { extractAnswer } from "../../src/operators/extract-answer.js";
import { score as scoreRows } from "../../src/operators/score.js";
import { extractOptions, scoreOptions } from "../../src/pipelines/eval-options.js";
import type { Sample } from "../../src/types.js";

// A generated corpus (fixtures/scripts/make-fidelity-corpus.mjs) and, for each row, the letter and
// verdict NeMo-Skills main's own eval_mcq gives it (mcq.py @ 5f85203, math_grader.py @ afab1e3, run
// with Python 3.11; see docs/fidelity.md). `upstream_raises` marks rows where upstream stops with an
// exception: vlmpipe records no answer there.
const DIR = join(import.meta.dirname, "../fixtures/nemo-skills-fidelity");
const readJsonl = (name: string) =>
  readFileSync(join(DIR, name), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

type Expected = { id: string; predicted_answer?: string | null; symbolic_correct?: boolean; upstream_raises?: string };

async function score(rows: Record<string, unknown>[], overrides: Record<string, unknown> = {}): Promise<Sample[]> {
  const config = parseGenerationConfig(overrides);
  const stages = pipe(extractAnswer(extractOptions(config, "multichoice")), scoreRows(scoreOptions(config)));
  const samples = rows.map((row, index): Sample => ({ index, row, out: { generation: row.generation } }));
  return firstValueFrom(from(samples).pipe(stages, toArray()));
}

function compare(rows: Record<string, unknown>[], expected: Expected[], got: Sample[]): string[] {
  const byId = new Map(expected.map((e) => [e.id, e]));
  const diffs: string[] = [];
  for (const [i, s] of got.entries()) {
    const e = byId.get(String(rows[i]!.id))!;
    const want = e.upstream_raises
      ? { predicted_answer: null }
      : { predicted_answer: e.predicted_answer, symbolic_correct: e.symbolic_correct };
    const have = e.upstream_raises
      ? { predicted_answer: s.out.predicted_answer }
      : { predicted_answer: s.out.predicted_answer, symbolic_correct: s.out.symbolic_correct };
    if (s.error || JSON.stringify(have) !== JSON.stringify(want)) {
      diffs.push(`${e.id}: upstream ${JSON.stringify(want)}, vlmpipe ${JSON.stringify(s.error ?? have)}`);
    }
  }
  return diffs;
}

describe("multichoice extraction and scoring = NeMo-Skills main", () => {
  it("gives upstream's letter and verdict on every row of the 2,402-row generated corpus", async () => {
    const rows = readJsonl("mcq-corpus.jsonl");
    const expected = readJsonl("mcq-expected.jsonl") as Expected[];
    expect(rows.length).toBeGreaterThanOrEqual(2000);
    expect(expected.length).toBe(rows.length);
    expect(compare(rows, expected, await score(rows))).toEqual([]);
  });

  it("gives upstream's letter on every example of upstream's evaluator tests", async () => {
    const rows = readJsonl("upstream-tests.jsonl");
    const expected = readJsonl("upstream-tests-expected.jsonl") as Expected[];
    const got: Sample[] = [];
    for (const row of rows) {
      const { _eval_config: cfg, ...rest } = row;
      const overrides = cfg ? { eval_config: cfg } : {};
      got.push(...(await score([rest], overrides)));
    }
    expect(compare(rows, expected, got)).toEqual([]);
  });
});
