import { firstValueFrom, from, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { type ExtractAnswerOptions, extractAnswer } from "../../src/operators/extract-answer.js";
import type { Sample } from "../../src/types.js";

async function run(samples: Sample[], opts: ExtractAnswerOptions): Promise<Sample[]> {
  return firstValueFrom(from(samples).pipe(extractAnswer(opts), toArray()));
}

const OPTIONS = "['red', 'green', 'blue', 'black']";

describe("extractAnswer", () => {
  it("sets predicted_answer with NeMo-Skills' multichoice extractor", async () => {
    const [s] = await run([{ index: 0, row: {}, out: { generation: "I think so.\nAnswer: c" } }], {
      evalType: "multichoice",
    });
    expect(s!.out.predicted_answer).toBe("C");
    expect(s!.out).not.toHaveProperty("predicted_answer_official");
  });

  it("runs both extractors when the row has options, and picks the chosen one", async () => {
    const row = { id: "q1", options: OPTIONS };
    const gen = "Between (A) and (B), (B) it is.";
    const [mc] = await run([{ index: 0, row, out: { generation: gen } }], { evalType: "multichoice" });
    expect(mc!.out).toMatchObject({
      predicted_answer: null,
      predicted_answer_multichoice: null,
      predicted_answer_official: "B",
    });
    const [off] = await run([{ index: 0, row, out: { generation: gen } }], { evalType: "mmmu-pro-official" });
    expect(off!.out).toMatchObject({
      predicted_answer: "B",
      predicted_answer_multichoice: null,
      predicted_answer_official: "B",
    });
    expect(off!.out).not.toHaveProperty("official_random_fallback");
  });

  it("flags the official random fallback and draws it from the row's id, whatever its position", async () => {
    const row = { id: "validation_Art_3", options: ["red", "green", "blue", "black"] };
    const [a] = await run([{ index: 0, row, out: { generation: "no idea" } }], { evalType: "mmmu-pro-official" });
    const [b] = await run([{ index: 99, row, out: { generation: "no idea" } }], { evalType: "mmmu-pro-official" });
    expect(a!.out.official_random_fallback).toBe(true);
    expect(b!.out.predicted_answer).toBe(a!.out.predicted_answer);
    const [c] = await run([{ index: 0, row, out: { generation: "no idea" } }], {
      evalType: "mmmu-pro-official",
      seed: 1,
    });
    expect(c!.out.official_random_fallback).toBe(true);
  });

  it("keys the fallback by the index when the row has no id", async () => {
    const row = { options: OPTIONS };
    const picks = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      const [s] = await run([{ index: i, row, out: { generation: "" } }], { evalType: "mmmu-pro-official" });
      picks.add(s!.out.predicted_answer);
    }
    expect(picks.size).toBeGreaterThan(1);
  });

  it("draws a row's fallback anew for another reply (the runs of a multi-seed eval), the same for the same reply", async () => {
    // Four seeds' runs of 4-option rows whose replies name no option: each run's letters must
    // vary independently, or pass@4 over such rows is one draw's 25% instead of ~68%.
    for (const evalType of ["mmmu-pro-official", "mmmu-official"] as const) {
      let hits = 0;
      const rows = 50;
      for (let i = 0; i < rows; i++) {
        const row = {
          id: `validation_Art_${i}`,
          options: ["red", "green", "blue", "black"],
          question_type: "multiple-choice",
          expected_answer: "A",
        };
        const letters = new Set<unknown>();
        for (let seed = 0; seed < 4; seed++) {
          const reply = `Hard to say (run ${seed}).`;
          const [s] = await run([{ index: i, row, out: { generation: reply } }], { evalType });
          const [again] = await run([{ index: i + 7, row, out: { generation: reply } }], { evalType });
          expect(s!.out.official_random_fallback).toBe(true);
          expect(again!.out.predicted_answer).toBe(s!.out.predicted_answer);
          letters.add(s!.out.predicted_answer);
        }
        if (letters.has("A")) hits++;
      }
      // pass@4 over 50 such rows: ~34 expected with independent draws, 12-13 with one shared draw.
      expect(hits).toBeGreaterThan(25);
    }
  });

  it("re-scores a file's rows from row.generation", async () => {
    const [s] = await run([{ index: 0, row: { generation: "\\boxed{D}", predicted_answer: "A" }, out: {} }], {
      evalType: "multichoice",
    });
    expect(s!.out.predicted_answer).toBe("D");
  });

  it("gives no answer for unfinished reasoning, even with the official parser", async () => {
    const [s] = await run(
      [{ index: 0, row: { options: OPTIONS }, out: { generation: "", _unfinished_reasoning: true } }],
      { evalType: "mmmu-pro-official" },
    );
    expect(s!.out).toMatchObject({
      predicted_answer: null,
      predicted_answer_official: null,
      predicted_answer_multichoice: null,
    });
  });

  it("records a data error for the official parser without options", async () => {
    const [s] = await run([{ index: 0, row: {}, out: { generation: "Answer: A" } }], { evalType: "mmmu-pro-official" });
    expect(s!.error).toMatchObject({ stage: "extractAnswer", code: "VLM_E_DATA" });
  });

  it("passes errored samples through untouched", async () => {
    const errored: Sample = {
      index: 0,
      row: {},
      out: {},
      error: { stage: "generate", code: "VLM_E_TIMEOUT", message: "t" },
    };
    const [s] = await run([errored], { evalType: "multichoice" });
    expect(s).toBe(errored);
  });

  it("reads a row's own extract_regex / relaxed, and records VLM_E_DATA for a regex it cannot read", async () => {
    const gen = "\\boxed{A}\nChoice: b";
    const rows: Sample[] = [
      { index: 0, row: { extract_regex: "Choice: ([a-d])" }, out: { generation: gen } },
      { index: 1, row: { relaxed: false }, out: { generation: "The final answer is C\n" } },
      { index: 2, row: { extract_regex: "(?(1)a|b)" }, out: { generation: gen } },
    ];
    const [a, b, c] = await run(rows, { evalType: "multichoice" });
    expect(a!.out.predicted_answer).toBe("B");
    expect(b!.out.predicted_answer).toBeNull(); // strict mode reads only \\boxed{}
    expect(c!.error).toMatchObject({ stage: "extractAnswer", code: "VLM_E_DATA" });
    expect(c!.error!.message).toMatch(/conditional groups/);
  });
});
