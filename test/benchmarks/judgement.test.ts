import { describe, expect, it } from "vitest";
import { judgementVerdict } from "../../src/benchmarks/shared/judgement.js";

// NeMo-Skills' is_correct_judgement (nemo_skills/evaluation/metrics/utils.py) with return_none.
describe("an LLM judge's verdict", () => {
  it("reads the first Judgement: (plain or bold, any case) and the text after it, stripped", () => {
    expect(judgementVerdict("Reasoning...\nJudgement: Yes")).toBe(true);
    expect(judgementVerdict("Judgement: no")).toBe(false);
    expect(judgementVerdict("**Judgement**: YES, the same number")).toBe(true);
    expect(judgementVerdict("judgement :\n\t No")).toBe(false);
    expect(judgementVerdict("Judgement: No. Judgement: Yes")).toBe(false);
    expect(judgementVerdict("Judgement: Yesterday")).toBe(true); // startswith, as upstream
    expect(judgementVerdict("Judgement:\u001c yes")).toBe(true); // Python's white space
  });

  it("has no verdict without the marker, or with another word after it", () => {
    expect(judgementVerdict("Yes")).toBeNull();
    expect(judgementVerdict("Judgement: maybe")).toBeNull();
    expect(judgementVerdict("Judgement:\ufeffYes")).toBeNull(); // not white space in Python
    expect(judgementVerdict("")).toBeNull();
  });
});
