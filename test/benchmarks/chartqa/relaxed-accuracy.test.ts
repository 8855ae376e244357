import { describe, expect, it } from "vitest";
import { relaxedAccuracy, relaxedCorrect } from "../../../src/benchmarks/chartqa/relaxed-accuracy.js";
import { EVAL_TYPES } from "../../../src/benchmarks/eval-types.js";

// ChartQA (Masry et al. 2022, section 5.1): "an answer is correct if it is within 5% of the gold
// answer. For non-numeric answers, we still need an exact match."
describe("relaxed accuracy", () => {
  it("takes a number within 5% of the target, both ends included, and nothing further", () => {
    expect(relaxedCorrect("100", "100")).toBe(true);
    expect(relaxedCorrect("100", "95")).toBe(true);
    expect(relaxedCorrect("100", "105")).toBe(true);
    expect(relaxedCorrect("100", "105.1")).toBe(false);
    expect(relaxedCorrect("100", "94.9")).toBe(false);
    expect(relaxedCorrect("-20", "-20.9")).toBe(true);
    expect(relaxedCorrect("-20", "20")).toBe(false);
  });

  it("reads a trailing % as hundredths, on either side", () => {
    expect(relaxedCorrect("12%", "0.12")).toBe(true);
    expect(relaxedCorrect("0.12", "12.4%")).toBe(true);
    expect(relaxedCorrect("12%", "12")).toBe(false);
  });

  it("reads numbers as Python's float does: underscores, exponents, spaces; not thousands commas", () => {
    expect(relaxedCorrect("1000", "1_000")).toBe(true);
    expect(relaxedCorrect("1000", "1e3")).toBe(true);
    expect(relaxedCorrect("1000", " 1000 ")).toBe(true);
    // "1,000" is not a number to float(): the texts are compared, and differ.
    expect(relaxedCorrect("1000", "1,000")).toBe(false);
    // Any script's decimal digits, as float() reads them: full-width, Arabic-Indic, math bold.
    expect(relaxedCorrect("\uff11\uff12", "12")).toBe(true);
    expect(relaxedCorrect("12", "\u0661\u0662")).toBe(true);
    expect(relaxedCorrect("3.5", "\u0663.\u0665")).toBe(true);
    expect(relaxedCorrect("98", "\u{1d7d7}\u{1d7d6}")).toBe(true);
  });

  it("compares text exactly but for case, and a target of 0 as text", () => {
    expect(relaxedCorrect("Yes", "yes")).toBe(true);
    expect(relaxedCorrect("Germany", "germany.")).toBe(false);
    expect(relaxedCorrect("0", "0")).toBe(true);
    expect(relaxedCorrect("0", "0.0")).toBe(false);
    expect(relaxedCorrect("0", "0.01")).toBe(false);
  });

  it("is right against any of several targets", () => {
    expect(relaxedAccuracy(["2019", "2020"], "2020")).toBe(true);
    expect(relaxedAccuracy(["Blue", "Navy"], "red")).toBe(false);
  });

  it("judges the whole reply by default, the answer line of a longer one with relaxed-accuracy-answer-line", () => {
    const row = { expected_answer: "45", answers: ["45"] };
    const ref = (text: string | null) => EVAL_TYPES["relaxed-accuracy"].extract({ row, text });
    const line = (text: string | null) => EVAL_TYPES["relaxed-accuracy-answer-line"].extract({ row, text });
    expect(ref(" 45\n")).toEqual({ answer: "45", verdict: { symbolic_correct: true } });
    const long = "Looking at the bars...\nThe final answer is 46";
    expect(ref(long)).toEqual({ answer: long, verdict: { symbolic_correct: false } });
    expect(line(long)).toEqual({ answer: "46", verdict: { symbolic_correct: true } });
    expect(ref(null)).toEqual({ answer: null, verdict: { symbolic_correct: false } });
  });
});
