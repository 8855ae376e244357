import { describe, expect, it } from "vitest";
import { answerLine as extractShortAnswer, wholeReply } from "../../../src/benchmarks/shared/short-answer.js";

describe("wholeReply", () => {
  it("is the reply, trimmed; null when empty", () => {
    expect(wholeReply(" The final answer is 4\n")).toBe("The final answer is 4");
    expect(wholeReply("\n")).toBeNull();
  });
});

describe("answerLine", () => {
  it("takes a bare reply as the answer", () => {
    expect(extractShortAnswer("  Germany \n")).toBe("Germany");
    expect(extractShortAnswer("12.5%")).toBe("12.5%");
  });

  it("takes the last line's `The final answer is X`", () => {
    expect(extractShortAnswer("The bar is tall.\nThe final answer is 45")).toBe("45");
  });

  it("takes the text after the last Answer:, to the end of its line, markdown allowed", () => {
    expect(extractShortAnswer("Answer: 3\nOn second thought...\n**Answer:** 4")).toBe("4");
    expect(extractShortAnswer("The answer: Paris")).toBe("Paris");
    expect(extractShortAnswer("answer:Yes")).toBe("Yes");
  });

  it("does not take a word that only ends in 'answer'", () => {
    expect(extractShortAnswer("Cornswer: x")).toBe("Cornswer: x");
  });

  it("gives null for an empty reply", () => {
    expect(extractShortAnswer("   ")).toBeNull();
    expect(extractShortAnswer("Answer: ")).toBeNull();
  });
});
