import { describe, expect, it } from "vitest";
import { parseOptionsList } from "../../src/benchmarks/mmmu-pro/official-parser.js";
import { parsePythonLiteral, parsePythonStringList } from "../../src/benchmarks/shared/python-literal.js";

describe("the one Python-literal parser", () => {
  it("reads the values repr() writes: strings, numbers, True/False/None, nested lists", () => {
    expect(parsePythonLiteral("['a', 1.5, -2, True, None, ['b', u'c'], r'\\d']")).toEqual([
      "a",
      1.5,
      -2,
      true,
      null,
      ["b", "c"],
      "\\d",
    ]);
  });

  it("keeps bare words as written for prepare_data's lists of strings, and a nested list as one string", () => {
    expect(parsePythonStringList("['a', 1.0, None]")).toEqual(["a", "1.0", "None"]);
    // str() of the list, as an f-string writes it: MMMU-Pro's validation_Accounting_29.
    expect(parsePythonStringList("[['A', 'B', 'Not enough information']]")).toEqual([
      "['A', 'B', 'Not enough information']",
    ]);
    expect(parsePythonStringList(`['a', ["it's", None, True]]`)).toEqual(["a", `["it's", None, True]`]);
  });

  it("gives the official parser a nested list as one option, in its Python repr", () => {
    expect(parseOptionsList("['a', ['b', 'c']]")).toEqual(["a", "['b', 'c']"]);
  });

  it("says where a text is not a literal", () => {
    expect(() => parsePythonLiteral("['a' 'b',")).toThrow(SyntaxError);
    expect(() => parsePythonLiteral("['a'] x")).toThrow(/trailing characters after the value at 6/);
  });
});
