import { describe, expect, it } from "vitest";
import { EVAL_TYPES } from "../../../src/benchmarks/eval-types.js";
import { evaluateMmmu } from "../../../src/benchmarks/mmmu/evaluate.js";
import {
  extractNumbers,
  judgeOpen,
  normalizeAnswer,
  parseMultiChoice,
  parseOpen,
} from "../../../src/benchmarks/mmmu/official-eval.js";
import { pyFloat, pyRound2 } from "../../../src/benchmarks/mmmu/py-text.js";
import { rowRng } from "../../../src/benchmarks/mmmu-pro/official-parser.js";

const ABCD = ["A", "B", "C", "D"];
const ANS = { A: "$6", B: "$7", C: "$8", D: "$9" };
const never = () => {
  throw new Error("no fallback expected");
};

describe("the MMMU authors' multiple-choice parse", () => {
  it("takes a bracketed letter first, the last one when there are several", () => {
    expect(parseMultiChoice("(B) because (A) is wrong and (C) too", ABCD, ANS, never)).toEqual({
      answer: "C",
      fallback: false,
    });
    expect(parseMultiChoice("The answer is (D).", ABCD, ANS, never)).toEqual({ answer: "D", fallback: false });
  });

  it("then a letter standing alone, end punctuation stripped first", () => {
    expect(parseMultiChoice("B.", ABCD, ANS, never)).toEqual({ answer: "B", fallback: false });
    expect(parseMultiChoice("A is not it, B is", ABCD, ANS, never)).toEqual({ answer: "B", fallback: false });
  });

  it("then, in a reply of more than five words, an option's text (the last written)", () => {
    expect(parseMultiChoice("The per unit overhead cost incurred is $7.", ABCD, ANS, never)).toEqual({
      answer: "B",
      fallback: false,
    });
    expect(parseMultiChoice("it is $7", ABCD, ANS, () => 0)).toEqual({ answer: "A", fallback: true });
  });

  it("draws a letter per row when nothing matches, the same one for the same row and seed", () => {
    const a = parseMultiChoice("I cannot tell", ABCD, ANS, rowRng(42, "validation_Art_1"));
    const b = parseMultiChoice("I cannot tell", ABCD, ANS, rowRng(42, "validation_Art_1"));
    expect(a.fallback).toBe(true);
    expect(b).toEqual(a);
  });
});

describe("the MMMU authors' open-answer parse and judge", () => {
  it("keeps the shortest tail after an answer word on each line, and the numbers in it", () => {
    // The plain-number pattern also finds the "200" of "1,200", as the authors' does.
    expect(parseOpen("The area is 1,200 square feet")).toEqual([200, 1200, "1,200 square feet"]);
    expect(parseOpen("So the final answer is 3.5.")).toEqual([3.5]);
    expect(parseOpen("x = 2\ny = 4")).toEqual([4]);
  });

  it("uses the whole reply, lower-cased, when no answer word is there", () => {
    expect(parseOpen("Paris")).toEqual(["paris"]);
    expect(parseOpen("Mitochondria.")).toEqual(["mitochondria"]);
  });

  it("finds numbers with thousands commas, in scientific notation, and plain", () => {
    // Each pattern runs on the whole text, so pieces come back too ("567", "3", "-5"), as in theirs.
    expect(extractNumbers("1,234,567 and 3.2e-5 and -7 and .5")).toEqual([
      "1,234,567",
      "3.2e-5",
      "567",
      "3",
      "-5",
      "-7",
      ".5",
    ]);
  });

  it("normalises answers: numbers rounded to 2 decimals (ties to even), one letter padded", () => {
    expect(normalizeAnswer(" 3.14159 ")).toEqual([3.14]);
    expect(normalizeAnswer("0.125")).toEqual([0.12]);
    expect(normalizeAnswer("0.375")).toEqual([0.38]);
    expect(normalizeAnswer("1,000")).toEqual([1000]);
    expect(normalizeAnswer("B")).toEqual([" b", "b "]);
    expect(normalizeAnswer("Tampa")).toEqual(["tampa"]);
  });

  it("is right on an equal number or a text containing an acceptable answer", () => {
    expect(judgeOpen("3.5", [3.5])).toBe(true);
    expect(judgeOpen("3.50", ["3.5"])).toBe(false);
    expect(judgeOpen(["Tampa", "Florida"], ["tampa bay"])).toBe(true);
    expect(judgeOpen("Paris", ["#####"])).toBe(false);
  });
});

describe("Python's float and round, as the authors' code relies on them", () => {
  it("parses what float() parses and nothing else", () => {
    expect(pyFloat("1_000.5")).toBe(1000.5);
    expect(pyFloat(" -2e3 ")).toBe(-2000);
    expect(pyFloat("5.")).toBe(5);
    expect(pyFloat("inf")).toBe(Infinity);
    expect(Number.isNaN(pyFloat("NaN"))).toBe(true);
    expect(pyFloat("1__0")).toBeNull();
    expect(pyFloat("0x10")).toBeNull();
    expect(pyFloat("")).toBeNull();
  });

  it("rounds to 2 decimals on the exact binary value, exact ties to even", () => {
    expect(pyRound2(2.675)).toBe(2.67); // 2.67499999... in binary
    expect(pyRound2(0.125)).toBe(0.12);
    expect(pyRound2(-0.125)).toBe(-0.12);
    expect(pyRound2(0.135)).toBe(0.14);
  });
});

describe("evaluateMmmu", () => {
  it("reads the choices from the prepared row's options and flags a drawn letter", () => {
    const row = {
      id: "validation_Art_1",
      question_type: "multiple-choice",
      options: ["red", "blue"],
      expected_answer: "B",
    };
    expect(evaluateMmmu({ row, generation: "Answer: B", key: "validation_Art_1", seed: 42 })).toEqual({
      answer: "B",
      verdict: { symbolic_correct: true },
    });
    const drawn = evaluateMmmu({ row, generation: "no idea", key: "validation_Art_1", seed: 42 });
    expect(drawn).toMatchObject({ fields: { official_random_fallback: true } });
  });

  it("takes an open answer written as a Python list as a set of acceptable answers", () => {
    const row = { id: "m", question_type: "open", expected_answer: "['24/7', '3.429']" };
    expect(evaluateMmmu({ row, generation: "The answer is 3.429", key: "m", seed: 42 })).toMatchObject({
      verdict: { symbolic_correct: true },
    });
  });

  it("refuses a multiple-choice row without choices (a data error on the row), not an open one", () => {
    const input = { text: "A", options: null, key: "0", seed: 42 };
    expect(
      EVAL_TYPES["mmmu-official"].refuse({ ...input, row: { question_type: "multiple-choice", expected_answer: "A" } }),
    ).toMatch(/all_choices/);
    expect(
      EVAL_TYPES["mmmu-official"].refuse({ ...input, row: { question_type: "open", expected_answer: "4" } }),
    ).toBeUndefined();
  });
});
