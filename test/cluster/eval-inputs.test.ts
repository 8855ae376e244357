import { describe, expect, it } from "vitest";
import { majorityByAnswerOf } from "../../src/cluster/eval-inputs.js";

describe("majorityByAnswerOf", () => {
  it("is on only for ++eval_config.majority_by_answer=true", () => {
    expect(majorityByAnswerOf(undefined)).toBe(false);
    expect(majorityByAnswerOf({ eval_config: { seed: 1 } })).toBe(false);
    expect(majorityByAnswerOf({ eval_config: { majority_by_answer: false } })).toBe(false);
    expect(majorityByAnswerOf({ eval_config: { majority_by_answer: true } })).toBe(true);
  });
});
