import { describe, expect, it } from "vitest";
import { majorityByAnswerOf, maxSamplesOf } from "../../src/cluster/eval-inputs.js";

describe("maxSamplesOf", () => {
  it("limits only for ++max_samples > 0: 0 and below are every row, as in NeMo-Skills", () => {
    expect(maxSamplesOf(undefined)).toBeUndefined();
    expect(maxSamplesOf({})).toBeUndefined();
    expect(maxSamplesOf({ max_samples: 0 })).toBeUndefined();
    expect(maxSamplesOf({ max_samples: -1 })).toBeUndefined();
    expect(maxSamplesOf({ max_samples: 7 })).toBe(7);
  });
});

describe("majorityByAnswerOf", () => {
  it("is on only for ++eval_config.majority_by_answer=true", () => {
    expect(majorityByAnswerOf(undefined)).toBe(false);
    expect(majorityByAnswerOf({ eval_config: { seed: 1 } })).toBe(false);
    expect(majorityByAnswerOf({ eval_config: { majority_by_answer: false } })).toBe(false);
    expect(majorityByAnswerOf({ eval_config: { majority_by_answer: true } })).toBe(true);
  });
});
