import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateMmmu } from "../../../src/benchmarks/mmmu/evaluate.js";
import { disciplineOf, MMMU_DISCIPLINES } from "../../../src/benchmarks/mmmu/subjects.js";

// The MMMU authors' published example outputs (see the README there) and their own parser's
// reading of each row (fixtures/parity/make-mmmu-authors-parse.py).
const DATA = path.resolve(import.meta.dirname, "../../../../shared/data/mmmu-examples");
const REF = path.resolve(import.meta.dirname, "../../../fixtures/parity/mmmu-examples-authors-parse.jsonl");

type Row = {
  id: string;
  question_type: string;
  answer: string | string[];
  all_choices?: string[];
  index2ans?: Record<string, string>;
  response: string;
};
type Ref = {
  model: string;
  subject: string;
  id: string;
  parsed_pred: unknown;
  correct: boolean;
  random_fallback: boolean;
};

const refs = readFileSync(REF, "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Ref);

function rows(model: string, subject: string): Row[] {
  return JSON.parse(readFileSync(path.join(DATA, model, subject, "output.json"), "utf8")) as Row[];
}

function ours(r: Row) {
  const result = evaluateMmmu({
    row: { ...r, expected_answer: r.answer },
    generation: r.response,
    key: r.id,
    seed: 42,
  });
  return {
    predicted_answer: result.answer,
    symbolic_correct: result.verdict?.symbolic_correct as boolean,
    official_random_fallback: result.fields?.official_random_fallback as boolean | undefined,
  };
}

describe.each([
  { model: "llava1.5_13b", subjects: 30, rows: 900, fallbacks: 2 },
  { model: "qwen_vl", subjects: 10, rows: 300, fallbacks: 12 },
])("the mmmu-official parser on the authors' $model outputs", ({ model, subjects, rows: n, fallbacks }) => {
  const mine = refs.filter((r) => r.model === model);
  const bySubject = new Map<string, Ref[]>();
  for (const r of mine) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);

  it("reads every row as the authors' parser does, and flags the same random fallbacks", () => {
    expect(bySubject.size).toBe(subjects);
    expect(mine).toHaveLength(n);
    const mismatches: string[] = [];
    let flagged = 0;
    for (const [subject, refRows] of bySubject) {
      const byId = new Map(rows(model, subject).map((r) => [r.id, r]));
      for (const ref of refRows) {
        const out = ours(byId.get(ref.id)!);
        expect(out.official_random_fallback === true, ref.id).toBe(ref.random_fallback);
        if (ref.random_fallback) {
          flagged++;
          continue;
        }
        const same = JSON.stringify(out.predicted_answer) === JSON.stringify(ref.parsed_pred);
        if (!same || out.symbolic_correct !== ref.correct) {
          mismatches.push(
            `${ref.id}: ${JSON.stringify(out.predicted_answer)} ${out.symbolic_correct} ` +
              `vs ${JSON.stringify(ref.parsed_pred)} ${ref.correct}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(flagged).toBe(fallbacks);
  });

  it("gives the authors' accuracy per subject, per discipline and overall on every row but the fallbacks", () => {
    const count = (list: Ref[], judge: (r: Ref) => boolean) => list.filter(judge).length;
    const verdicts = new Map<string, boolean>();
    for (const [subject, refRows] of bySubject) {
      const byId = new Map(rows(model, subject).map((r) => [r.id, r]));
      for (const ref of refRows) verdicts.set(ref.id, ours(byId.get(ref.id)!).symbolic_correct);
    }
    const settled = mine.filter((r) => !r.random_fallback);
    for (const [subject, refRows] of bySubject) {
      const list = refRows.filter((r) => !r.random_fallback);
      expect(
        count(list, (r) => verdicts.get(r.id)!),
        subject,
      ).toBe(count(list, (r) => r.correct));
    }
    for (const discipline of MMMU_DISCIPLINES) {
      const list = settled.filter((r) => disciplineOf(r.subject) === discipline);
      expect(
        count(list, (r) => verdicts.get(r.id)!),
        discipline,
      ).toBe(count(list, (r) => r.correct));
    }
    expect(count(settled, (r) => verdicts.get(r.id)!)).toBe(count(settled, (r) => r.correct));
  });
});
