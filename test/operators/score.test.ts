import { firstValueFrom, from, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { pyEquals, type ScoreOptions, score } from "../../src/operators/score.js";
import type { Sample } from "../../src/types.js";

async function run(samples: Sample[], opts?: ScoreOptions): Promise<Sample[]> {
  return firstValueFrom(from(samples).pipe(score(opts), toArray()));
}

const s = (predicted: unknown, expected: unknown): Sample => ({
  index: 0,
  row: expected === undefined ? {} : { expected_answer: expected },
  out: { predicted_answer: predicted },
});

describe("score", () => {
  it("compares exactly, as NeMo-Skills' predicted_answer == expected_answer", async () => {
    const out = await run([s("B", "B"), s("b", "B"), s("B", " B"), s("5", 5), s("C", "B"), s(null, null)]);
    expect(out.map((x) => x.out.symbolic_correct)).toEqual([true, false, false, false, false, true]);
  });

  it("with normalizeExpectedAnswer (opt-in) compares trimmed answers, single letters case-insensitively", async () => {
    const opts = { normalizeExpectedAnswer: true };
    const out = await run([s("b", " B"), s("C", "B"), s("12", " 12 "), s("ab", "AB"), s("5", 5), s(null, null)], opts);
    expect(out.map((x) => x.out.symbolic_correct)).toEqual([true, false, true, false, true, false]);
  });

  it("follows Python's == on JSON values", () => {
    expect(pyEquals(true, 1)).toBe(true);
    expect(pyEquals(0, false)).toBe(true);
    expect(pyEquals(["A", 1], ["A", 1])).toBe(true);
    expect(pyEquals({ a: [1] }, { a: [1] })).toBe(true);
    expect(pyEquals({ a: 1 }, { b: 1 })).toBe(false);
    expect(pyEquals("1", 1)).toBe(false);
    expect(pyEquals(null, "")).toBe(false);
  });

  it("counts no answer as wrong", async () => {
    const [x] = await run([s(null, "A")]);
    expect(x!.out.symbolic_correct).toBe(false);
  });

  it("leaves rows without an expected_answer key unscored", async () => {
    const [x] = await run([s("A", undefined)]);
    expect(x!.out).not.toHaveProperty("symbolic_correct");
  });

  it("scores a re-read row's own predicted answer when this run set none", async () => {
    const [x] = await run([{ index: 0, row: { expected_answer: "D", predicted_answer: "D" }, out: {} }]);
    expect(x!.out.symbolic_correct).toBe(true);
  });

  it("passes errored samples through untouched", async () => {
    const errored: Sample = { ...s("A", "A"), error: { stage: "generate", code: "VLM_E_HTTP", message: "x" } };
    const [x] = await run([errored]);
    expect(x).toBe(errored);
  });
});
