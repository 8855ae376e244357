import { firstValueFrom, from, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { score } from "../../src/operators/score.js";
import type { Sample } from "../../src/types.js";

async function run(samples: Sample[]): Promise<Sample[]> {
  return firstValueFrom(from(samples).pipe(score(), toArray()));
}

const s = (predicted: unknown, expected: unknown): Sample => ({
  index: 0,
  row: expected === undefined ? {} : { expected_answer: expected },
  out: { predicted_answer: predicted },
});

describe("score", () => {
  it("compares trimmed answers, single letters case-insensitively", async () => {
    const out = await run([s("b", " B"), s("C", "B"), s("12", " 12 "), s("ab", "AB")]);
    expect(out.map((x) => x.out.symbolic_correct)).toEqual([true, false, true, false]);
  });

  it("counts no answer as wrong", async () => {
    const [x] = await run([s(null, "A")]);
    expect(x!.out.symbolic_correct).toBe(false);
  });

  it("leaves rows without an expected answer unscored", async () => {
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
