import { describe, expect, it } from "vitest";
import { compilePythonRegex, findallLast } from "../../src/benchmarks/extractors/python-regex.js";

const last = (pattern: string, text: string) => findallLast(compilePythonRegex(pattern), text);

// Each expectation is what Python 3.11's re.findall(pattern, text)[-1] gives (None: no match).
describe("Python regexes in JavaScript", () => {
  it.each([
    ["The final answer is (.+)$", "x\nThe final answer is B\n", "B"],
    ["The final answer is (.+)$", "The final answer is B\nmore", undefined],
    ["(?i)The correct answer choice is\\:*\\**\\s*\\**([A-Za-z])", "the CORRECT answer choice is: **b", "b"],
    ["a*", "baaa", ""],
    ["|a", "a", ""],
    ["(a)|(b)", "xb", ["", "b"]],
    ["(?P<x>[A-D])\\)", "A) B)", "B"],
    ["(?P<x>a)(?P=x)", "aa", "a"],
    ["\\bI\\b", "İ", undefined],
    ["(?i)\\bi\\b", "İ ı", "ı"],
    ["x{,2}", "xxx", ""],
    ["x{2}|{", "{ xx", "xx"],
    ["[\\d\\W]+", "12!a", "12!"],
    ["(?s)A.B", "A\nB", "A\nB"],
    ["A.B", "A\nB A\rB", "A\rB"],
    ["(?m)^([A-J])$", "A\nB\nno", "B"],
    ["\\s+", "a\u001c\u0085b", "\u001c\u0085"],
    ["\\w+", "é_1Ａ", "é_1Ａ"],
    ["(?a)\\w+", "é_1", "_1"],
    ["(?x) A \\s B  # comment", "A B", "A B"],
    ["\\AA|B\\Z", "AB\n", "A"],
    ["(a)(b)?\\1", "aa", ["a", ""]],
    ["\\x41\\u0042\\101", "ABA", "ABA"],
    ["[]a]+", "a]a", "a]a"],
    ["[^-x]", "-xy", "y"],
    ["(?-i:a)B", "aB", "aB"],
    ["(?s:.)x", "\nx", "\nx"],
  ])("findall(%j, %j)[-1] = %j", (pattern, text, expected) => {
    expect(last(pattern, text)).toEqual(expected);
  });

  const refused = ["(?>a)", "a*+", "(?(1)a|b)", "\\N{LATIN SMALL LETTER A}", "(?i:a)", "x(?i)"];
  refused.push("\\q", "(a", "a)", "[a", "\\2(a)");
  it.each(refused.map((p) => [p]))("rejects %j with a message naming the pattern", (pattern) => {
    expect(() => compilePythonRegex(pattern)).toThrow(/cannot read .* as a Python regular expression/);
  });
});
