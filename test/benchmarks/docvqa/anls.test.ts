import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anls, normalizedDistance } from "../../../src/benchmarks/docvqa/anls.js";
import { EVAL_TYPES } from "../../../src/benchmarks/eval-types.js";

// ANLS (Biten et al. 2019, ST-VQA; Mathew et al. 2021, DocVQA): per question,
// max over gold answers of 1 - NL(gold, pred), and 0 where NL reaches past the threshold 0.5.
describe("ANLS", () => {
  it("is 1 for an answer equal but for case and spacing, as the evaluation normalises both", () => {
    expect(anls(["ITC Limited"], "itc   limited ")).toBe(1);
    expect(anls(["$ 2,500"], "$ 2,500")).toBe(1);
  });

  it("is 1 - edit distance / longer length for a near miss", () => {
    // 1/8/93 vs 1/8/1993: two insertions over 8 characters.
    expect(anls(["1/8/93"], "1/8/1993")).toBeCloseTo(1 - 2 / 8, 12);
    // one substitution in ten characters
    expect(anls(["Memorandum"], "Memorandam")).toBeCloseTo(0.9, 12);
  });

  it("keeps a score of exactly 0.5 and drops anything below it", () => {
    expect(anls(["abcd"], "abxy")).toBe(0.5);
    expect(anls(["abcd"], "axyz")).toBe(0);
    expect(anls(["Paris"], "London")).toBe(0);
  });

  it("takes the best of the gold answers", () => {
    expect(anls(["0.5 %", "0.5%"], "0.5%")).toBe(1);
    expect(anls(["T.F. Riehl", "Riehl"], "Riehl")).toBe(1);
    expect(anls([], "anything")).toBe(0);
  });

  it("measures length on the texts as given (the evaluation script's way), distance on the normalised ones", () => {
    // "a  b" normalises to "a b" (distance 0), so the score stays 1.
    expect(normalizedDistance("a  b", "A b")).toBe(0);
    expect(normalizedDistance("", "")).toBe(0);
  });

  it("counts edits in code points and folds Python's white space, as the script's Python does", () => {
    // An emoji is one character, one edit (UTF-16 would count two).
    expect(anls(["abc\u{1f600}"], "abcd")).toBe(0.75);
    expect(anls(["ab"], "abc\u{1f600}")).toBe(0.5);
    expect(anls(["\u{1f600}\u{1f601}"], "\u{1f600}\u{1f602}")).toBe(0.5);
    // \x85 is white space to Python's split(), \ufeff is not.
    expect(anls(["x y"], "x\x85y")).toBe(1);
    expect(anls(["x y"], "x\ufeffy")).toBeCloseTo(2 / 3, 12);
  });

  it("stays in [0, 1], is 0 or at least 0.5, 1 for the gold itself, and does not care which text is the gold", () => {
    const text = fc.string({ unit: fc.constantFrom("a", "b", "c", " ", "1", "/", "é"), maxLength: 12 });
    fc.assert(
      fc.property(text, text, (gold, pred) => {
        const s = anls([gold], pred);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        expect(s === 0 || s >= 0.5).toBe(true);
        expect(anls([gold], gold)).toBe(1);
        // Symmetric on texts that need no normalising (their lengths are then the compared ones).
        const norm = (x: string) => x.trim().toLowerCase().split(/\s+/).filter(Boolean).join(" ");
        if (norm(gold) === gold && norm(pred) === pred) expect(anls([pred], gold)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("never lowers a row's score when a gold answer is added", () => {
    const text = fc.string({ maxLength: 10 });
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 4 }), text, text, (golds, extra, pred) => {
        expect(anls([...golds, extra], pred)).toBeGreaterThanOrEqual(anls(golds, pred));
      }),
      { numRuns: 300 },
    );
  });

  it("scores a generation's short answer against the row's answers, exact match as symbolic_correct", () => {
    const row = { expected_answer: "1/8/93", answers: ["1/8/93"] };
    expect(EVAL_TYPES["anls-answer-line"].extract({ row, text: "The date is at the top.\nAnswer: 1/8/1993" })).toEqual({
      answer: "1/8/1993",
      verdict: { anls: 0.75, symbolic_correct: false },
    });
    expect(EVAL_TYPES.anls.extract({ row, text: "1/8/93" })).toEqual({
      answer: "1/8/93",
      verdict: { anls: 1, symbolic_correct: true },
    });
    // No gold answers: the verdict is set to none, so that score() does not compare with a null answer.
    const none = EVAL_TYPES.anls.extract({ row: { expected_answer: null, answers: [] }, text: "x" });
    expect(none.answer).toBe("x");
    expect(none.verdict && Object.hasOwn(none.verdict, "symbolic_correct")).toBe(true);
    expect(none.verdict?.symbolic_correct).toBeUndefined();
    expect(none.verdict && "anls" in none.verdict).toBe(false);
  });
});
