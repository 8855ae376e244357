import { describe, expect, it } from "vitest";
import { parseOfficial, parseOptionsList, rowRng } from "../../src/benchmarks/mmmu-pro/official-parser.js";

const OPTS4 = ["red apple", "green pear", "blue plum", "yellow lemon"];
const never = () => {
  throw new Error("the random fallback was used");
};

describe("parseOfficial", () => {
  it("takes the one letter named after the last `Answer:`", () => {
    expect(parseOfficial("blah (A) blah\nAnswer: C", OPTS4, never)).toEqual({ answer: "C", fallback: false });
    expect(parseOfficial("Answer: A\nAnswer: (B)", OPTS4, never).answer).toBe("B");
  });

  it("goes on with the whole response when the text after `Answer:` holds several letters", () => {
    // "C. Development" contains both C and D; the bracket stage then decides.
    expect(parseOfficial("I pick (B).\nAnswer: C. Development", OPTS4, never).answer).toBe("B");
  });

  it("matches `Answer:` case-sensitively", () => {
    expect(parseOfficial("(A) is wrong. answer: (D)", OPTS4, never).answer).toBe("D"); // by the bracket stage, last one
    expect(parseOfficial("(D) is it. answer: (A)", OPTS4, never).answer).toBe("A");
  });

  it("collects bracketed letters first and picks the one found last", () => {
    expect(parseOfficial("Maybe (C), but (A) fits better", OPTS4, never).answer).toBe("A");
  });

  it("then letters followed by a space, compared by ` X ` positions", () => {
    expect(parseOfficial("B is tempting but D is right", OPTS4, never).answer).toBe("D");
    expect(parseOfficial("D", OPTS4, never).answer).toBe("D"); // padded with spaces
  });

  it("then letters followed by a dot, the first in letter order when none is spaced", () => {
    expect(parseOfficial("C.D.x", OPTS4, never).answer).toBe("C");
    expect(parseOfficial("C.D.", OPTS4, never).answer).toBe("D"); // the final dot is stripped, so the earlier "X " stage finds D
  });

  it("strips end punctuation one character kind after the other", () => {
    // "...B.'": the quote goes, the dot stays, so "B." is seen and "B " is not.
    expect(parseOfficial("so it must be B.'", ["x", "y"], never).answer).toBe("B");
    expect(parseOfficial("A,", ["x", "y"], never).answer).toBe("A");
  });

  it("matches option texts only in responses of more than five words", () => {
    expect(parseOfficial("I think the green pear here", OPTS4, never).answer).toBe("B");
    expect(parseOfficial("the green pear", OPTS4, () => 0.99)).toEqual({ answer: "D", fallback: true });
  });

  it("picks the option text found last, case-insensitively", () => {
    expect(parseOfficial("not the Blue Plum, I say the red apple now", OPTS4, never).answer).toBe("A");
  });

  it("draws a letter with the given generator when nothing matches", () => {
    expect(parseOfficial("no idea", OPTS4, () => 0)).toEqual({ answer: "A", fallback: true });
    expect(parseOfficial("", OPTS4, () => 0.5)).toEqual({ answer: "C", fallback: true });
  });

  it("refuses an empty option list", () => {
    expect(() => parseOfficial("Answer: A", [], never)).toThrow(RangeError);
  });
});

describe("parseOptionsList", () => {
  it("accepts a JSON array", () => {
    expect(parseOptionsList(["a", "b"])).toEqual(["a", "b"]);
  });

  it("parses Python's repr of a list of strings", () => {
    expect(parseOptionsList("['a', 'b c']")).toEqual(["a", "b c"]);
    expect(parseOptionsList(`["It's", 'plain']`)).toEqual(["It's", "plain"]);
    expect(parseOptionsList(`['7°16\\'26.7"', 'x']`)).toEqual([`7°16'26.7"`, "x"]);
    expect(parseOptionsList("['\\\\alpha', 'tab\\there', '\\x41\\u00e9']")).toEqual(["\\alpha", "tab\there", "Aé"]);
    expect(parseOptionsList("['a',]")).toEqual(["a"]);
    expect(parseOptionsList("[]")).toEqual([]);
  });

  it("keeps a nested list as one option, written as Python would", () => {
    expect(parseOptionsList("[['A', 'B', 'Not enough information']]")).toEqual([
      "['A', 'B', 'Not enough information']",
    ]);
  });

  it("falls back to JSON for a JSON-encoded string", () => {
    expect(parseOptionsList('["a", "b\\u00e9"]')).toEqual(["a", "bé"]);
  });

  it("returns null for anything else", () => {
    expect(parseOptionsList(undefined)).toBeNull();
    expect(parseOptionsList("a, b")).toBeNull();
    expect(parseOptionsList("['unterminated")).toBeNull();
    expect(parseOptionsList({ a: 1 })).toBeNull();
  });
});

describe("rowRng", () => {
  it("repeats for the same seed and key and differs across keys", () => {
    const a = rowRng(42, "validation_Art_1");
    const b = rowRng(42, "validation_Art_1");
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    expect(rowRng(42, "validation_Art_2")()).not.toBe(xs[0]);
    expect(rowRng(7, "validation_Art_1")()).not.toBe(xs[0]);
  });
});
