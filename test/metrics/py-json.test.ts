import { describe, expect, it } from "vitest";
import { pyJsonDump } from "../../src/metrics/py-json.js";
import { pyFloatRepr } from "../../src/util/py-float.js";

describe("pyJsonDump", () => {
  it("writes what Python's json.dumps(x, indent=2) writes", () => {
    const value = new Map([
      [
        "a",
        {
          x: 1e-5,
          y: 1e16,
          z: 1.5e16,
          w: 0.0001,
          v: -0,
          n: Number.NaN,
          i: Number.POSITIVE_INFINITY,
          j: Number.NEGATIVE_INFINITY,
          t: 1039666357341 + 29 / 32, // exactly ...341.90625, a tie at 17 digits
          e: {},
          s: 'é\u0001\u007f😀\t"\\',
        },
      ],
    ]);
    // Python 3.11's output for the same dict.
    expect(pyJsonDump(value)).toBe(
      [
        "{",
        '  "a": {',
        '    "x": 1e-05,',
        '    "y": 1e+16,',
        '    "z": 1.5e+16,',
        '    "w": 0.0001,',
        '    "v": -0.0,',
        '    "n": NaN,',
        '    "i": Infinity,',
        '    "j": -Infinity,',
        '    "t": 1039666357341.9062,',
        '    "e": {},',
        '    "s": "\\u00e9\\u0001\\u007f\\ud83d\\ude00\\t\\"\\\\"',
        "  }",
        "}",
      ].join("\n"),
    );
  });

  it("writes NeMo-Skills' int metrics as ints and every other number as a float", () => {
    const text = pyJsonDump({
      m: { num_entries: 3, avg_tokens: 12, gen_seconds: 0, num_errors: 1, no_answer: 25, avg: 1 },
    });
    expect(text).toContain('"num_entries": 3,\n    "avg_tokens": 12,\n    "gen_seconds": 0,\n    "num_errors": 1,');
    expect(text).toContain('"no_answer": 25.0,\n    "avg": 1.0\n');
  });
});

describe("pyFloatRepr", () => {
  it("is Python's repr, exact ties of the shortest digits included", () => {
    expect([1.2345678901234568e17, 5e-324, 0.1 + 0.2, 2005268970840449 + 0.25, 100, -2.5e-7].map(pyFloatRepr)).toEqual([
      "1.2345678901234568e+17",
      "5e-324",
      "0.30000000000000004",
      "2005268970840449.2",
      "100.0",
      "-2.5e-07",
    ]);
  });
});
