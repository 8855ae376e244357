import { describe, expect, it } from "vitest";
import { DEFAULT_MULTICHOICE, extractMultichoice } from "../../src/benchmarks/extractors/multichoice.js";
import { pyTruthy, rowSettings } from "../../src/benchmarks/extractors/multichoice-settings.js";

const ISSUE_1511 =
  "The adiabatic regime requires\n\n\\boxed{\\langle H\\rangle \\ll \\Delta E}\n\n" +
  "so the correct statement is D.\n\n**Answer: D**";

describe("extractMultichoice", () => {
  // The cases of NeMo-Skills' tests/test_mcq_evaluator.py (open PR #1526), with upstream main's letters.
  it.each([
    [ISSUE_1511, "E"],
    ["Reasoning...\n\n\\boxed{D}", "D"],
    ["Reasoning...\n\nAnswer: \\boxed{B}", "B"],
    ["Reasoning...\n\n\\boxed{(C)}", "C"],
    ["Reasoning...\n\n\\boxed{\\text{A}}", "A"],
    ["Reasoning...\n\nAnswer: B", "B"],
    ["I am not sure.", null],
  ])("matches NeMo-Skills main on %j -> %j", (text, letter) => {
    expect(extractMultichoice(text)).toBe(letter);
  });

  it("with answerLineFirst (opt-in, NeMo-Skills #1511) lets an Answer: line beat a letter inside a formula", () => {
    const opt = { ...DEFAULT_MULTICHOICE, answerLineFirst: true };
    expect(extractMultichoice(ISSUE_1511, opt)).toBe("D");
    expect(extractMultichoice("\\boxed{(C)}\nAnswer: B", opt)).toBe("B");
    expect(extractMultichoice("\\boxed{(C)}\nAnswer: B")).toBe("C");
    expect(extractMultichoice("\\boxed{A}\nAnswer: B", opt)).toBe("A"); // a one-letter answer text still wins
  });

  it("follows extract_from_boxed, extract_regex (one or a list) and relaxed as NeMo-Skills does", () => {
    const both = "Some reasoning with \\boxed{A} in the middle.\n\nThe final answer is B";
    const strict = { ...DEFAULT_MULTICHOICE, relaxed: false };
    expect(extractMultichoice(both, strict)).toBe("A");
    expect(extractMultichoice(both, { ...strict, extractFromBoxed: false })).toBe("B");
    const regex = "(?i)The correct answer choice is\\:*\\**\\s*\\**([A-Za-z])";
    const gen = "Reasoning with \\boxed{A}.\n\nThe correct answer choice is: b";
    expect(extractMultichoice(gen, { ...DEFAULT_MULTICHOICE, extractRegex: regex })).toBe("B");
    expect(extractMultichoice(gen, { ...DEFAULT_MULTICHOICE, extractRegex: ["nothing (here)", regex] })).toBe("A");
    const twoGroups = { ...strict, extractFromBoxed: false, extractRegex: "\\((A)\\)|\\((C)\\)" };
    expect(extractMultichoice("x (A) y (C)", twoGroups)).toBe("C");
  });

  it("records no answer where NeMo-Skills main raises: a final `\\boxed=`, an empty regex list", () => {
    expect(extractMultichoice("Answer: B\nso \\boxed=")).toBeNull();
    expect(extractMultichoice("Answer: B", { ...DEFAULT_MULTICHOICE, extractRegex: [] })).toBeNull();
  });

  it("throws for an extract_regex Python would reject or JavaScript cannot express", () => {
    const unclosed = { ...DEFAULT_MULTICHOICE, extractRegex: "(unclosed" };
    expect(() => extractMultichoice("x", unclosed)).toThrow(/Python regular expression/);
    expect(() => extractMultichoice("x", { ...DEFAULT_MULTICHOICE, extractRegex: "(?>atomic)" })).toThrow(/atomic/);
  });

  it("takes `The final answer is X` on the last line, before a trailing newline too", () => {
    expect(extractMultichoice("Work.\nThe final answer is C")).toBe("C");
    expect(extractMultichoice("Work.\nThe final answer is C\n")).toBe("C");
    expect(extractMultichoice("Work.\nThe final answer is $\\boxed{B}$")).toBe("B");
  });

  it("ignores `The final answer is` above the last line, as Python's `$` without MULTILINE does", () => {
    expect(extractMultichoice("The final answer is C\nThanks.")).toBeNull();
    expect(extractMultichoice("The final answer is C\n\n")).toBeNull();
    expect(extractMultichoice("The final answer is C\nAnswer: D")).toBe("D");
  });

  it("prefers the final-answer line over a boxed letter (regex first in relaxed mode, as upstream main)", () => {
    expect(extractMultichoice("\\boxed{A}\nThe final answer is B")).toBe("B");
  });

  it("keeps a carriage return inside the final-answer text and strips it after", () => {
    expect(extractMultichoice("x\r\nThe final answer is C\r\n")).toBe("C");
  });

  it("uses the last \\boxed{} with braces matched", () => {
    expect(extractMultichoice("\\boxed{A} then \\boxed{B}")).toBe("B");
    expect(extractMultichoice("\\boxed{\\text{\\textbf{C}}}")).toBe("C");
    expect(extractMultichoice("\\boxed{B")).toBeNull();
  });

  it("reads the `\\boxed=` form up to the end of its line", () => {
    expect(extractMultichoice("so \\boxed= c.\nmore text")).toBe("C");
  });

  it("upper-cases a one-character answer, whatever it is", () => {
    expect(extractMultichoice("\\boxed{b}")).toBe("B");
    expect(extractMultichoice("\\boxed{ d }")).toBe("D");
    expect(extractMultichoice("\\boxed{7}")).toBe("7");
  });

  it("falls back to the answer line when the boxed content is empty or has no standalone capital", () => {
    expect(extractMultichoice("\\boxed{none}\nAnswer: E")).toBe("E");
    expect(extractMultichoice("\\boxed{}\nAnswer: E")).toBe("E");
    expect(extractMultichoice("\\boxed{}")).toBeNull();
  });

  it("maps Arabic, Bengali and full-width letters to A-D", () => {
    expect(extractMultichoice("\\boxed{ب}")).toBe("B");
    expect(extractMultichoice("\\boxed{ড}")).toBe("C");
    expect(extractMultichoice("\\boxed{Ｄ}")).toBe("D");
    expect(extractMultichoice("The final answer is أ")).toBe("A");
  });

  it("takes the last standalone capital of a longer answer text, with Unicode word boundaries", () => {
    expect(extractMultichoice("\\boxed{Option B or maybe C}")).toBe("C");
    expect(extractMultichoice("\\boxed{<A>}")).toBe("A");
    expect(extractMultichoice("\\boxed{éA and B}")).toBe("B");
    expect(extractMultichoice("\\boxed{éA}")).toBeNull(); // é is a word character in Python
    expect(extractMultichoice("\\boxed{none}")).toBeNull();
  });

  it("finds the last answer line, case-insensitive and through markdown", () => {
    expect(extractMultichoice("Answer: A\n...\nanswer: c")).toBe("C");
    expect(extractMultichoice("**Answer:** B")).toBe("B");
    expect(extractMultichoice("__Answer__: _D_")).toBe("D");
    expect(extractMultichoice("Final Answer:\n\nE")).toBe("E");
    expect(extractMultichoice("ANSWER : f")).toBe("F");
  });

  it("does not take a word as an answer letter", () => {
    expect(extractMultichoice("Answer: Both are right")).toBeNull();
    expect(extractMultichoice("Answer: A1")).toBeNull();
    expect(extractMultichoice("Answer: **B**")).toBeNull(); // three markdown characters are too many for the pattern
    expect(extractMultichoice("Answer: A.")).toBe("A");
  });

  it("returns null for an empty generation", () => {
    expect(extractMultichoice("")).toBeNull();
  });
});

describe("rowSettings", () => {
  it("lets a row's own keys win, null and 0 being false as in Python", () => {
    const base = DEFAULT_MULTICHOICE;
    expect(rowSettings({}, base)).toBe(base);
    const falsy = rowSettings({ relaxed: null, extract_from_boxed: 0 }, base);
    expect(falsy).toMatchObject({ relaxed: false, extractFromBoxed: false });
    expect(rowSettings({ extract_regex: ["a", "b"] }, base).extractRegex).toEqual(["a", "b"]);
    expect(() => rowSettings({ extract_regex: 3 }, base)).toThrow(TypeError);
    expect([pyTruthy([]), pyTruthy({}), pyTruthy("false"), pyTruthy(0.5)]).toEqual([false, false, true, true]);
  });
});
