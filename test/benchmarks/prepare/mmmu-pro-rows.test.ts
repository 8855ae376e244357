import { describe, expect, test } from "vitest";
import { formatStandardRow, formatVisionRow, mcqProblem, safeStem } from "../../../src/benchmarks/mmmu-pro/rows.js";
import { imageExt, imageExtFromBytes } from "../../../src/benchmarks/shared/image-ext.js";
import { parsePythonStringList } from "../../../src/benchmarks/shared/python-literal.js";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]);

describe("parsePythonStringList", () => {
  test("reads the reprs Python writes: both quote styles, escapes, unicode", () => {
    expect(parsePythonStringList("['a', 'b']")).toEqual(["a", "b"]);
    expect(parsePythonStringList(`["it's", 'say "hi"', 'it\\'s']`)).toEqual(["it's", 'say "hi"', "it's"]);
    expect(parsePythonStringList("['$\\\\frac{1}{2}$', 'line\\nbreak', '\\t', '\\x41\\u00e9\\U0001F600']")).toEqual([
      "$\\frac{1}{2}$",
      "line\nbreak",
      "\t",
      "Aé😀",
    ]);
    expect(parsePythonStringList("['56 °C', '<image 2>']")).toEqual(["56 °C", "<image 2>"]);
  });

  test("accepts an empty list, a trailing comma, joined literals and bare numbers", () => {
    expect(parsePythonStringList("[]")).toEqual([]);
    expect(parsePythonStringList(" [ 'a' , ] ")).toEqual(["a"]);
    expect(parsePythonStringList("['ab' 'cd', 3, -1.5, None]")).toEqual(["abcd", "3", "-1.5", "None"]);
  });

  test("refuses what is not a list of strings", () => {
    expect(() => parsePythonStringList("'a'")).toThrow(SyntaxError);
    expect(() => parsePythonStringList("['a'")).toThrow(/expected ',' or '\]'/);
    expect(() => parsePythonStringList("['a] ")).toThrow(/unterminated/);
    expect(() => parsePythonStringList("[foo]")).toThrow(/expected a string/);
    expect(() => parsePythonStringList("['a'] x")).toThrow(/trailing/);
  });
});

describe("image extensions", () => {
  test("come from the magic numbers, then the struct's path", () => {
    expect(imageExtFromBytes(PNG)).toBe("png");
    expect(imageExtFromBytes(JPEG)).toBe("jpg");
    expect(imageExtFromBytes(new TextEncoder().encode("GIF89a..."))).toBe("gif");
    expect(imageExtFromBytes(new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 "))).toBe("webp");
    expect(imageExt(new Uint8Array([1, 2, 3]), "scan.TIF")).toBe("tif");
    expect(imageExt(new Uint8Array([1, 2, 3]), null)).toBe("bin");
  });
});

describe("row formatting", () => {
  test("builds the problem as NeMo-Skills' get_mcq_fields does", () => {
    expect(mcqProblem("\nWhat?\n", ["x", "y"])).toBe("What?\n\nA) x\nB) y");
    expect(mcqProblem("", ["x"])).toBe("\n\nA) x");
  });

  test("skips a vision row without an image, as NeMo-Skills does", () => {
    const row = { id: "test_Art_1", image: null, options: "['a']", answer: "A", subject: "Art" };
    expect(formatVisionRow(row, "test_Art_1")).toBeNull();
  });

  test("names vision images by id with the extension of their bytes", () => {
    const row = {
      id: "test_Art_Theory_1",
      image: { bytes: JPEG, path: "x.png" },
      options: "['a', 'b']",
      answer: "B",
      subject: "Art Theory",
    };
    const f = formatVisionRow(row, "test_Art_Theory_1")!;
    expect(f.record).toEqual({
      problem: "\n\nA) a\nB) b",
      image_path: "images/test_Art_Theory_1.jpg",
      expected_answer: "B",
      subset_for_metrics: "Art_Theory",
      id: "test_Art_Theory_1",
      options: ["a", "b"],
      subject: "Art Theory",
    });
    expect(f.images).toEqual([{ relPath: "images/test_Art_Theory_1.jpg", bytes: JPEG }]);
  });

  test("warns about a marker whose image is missing and keeps the row", () => {
    const row = {
      id: "q1",
      question: "Compare <image 1> and <image 2>.",
      options: "['<image 3>', 'neither']",
      explanation: null,
      img_type: "['Diagrams']",
      answer: "B",
      topic_difficulty: "Hard",
      subject: "Basic Medical Science",
      image_1: { bytes: PNG, path: null },
      image_2: null,
      image_3: { bytes: PNG, path: null },
    };
    const f = formatStandardRow(row, "q1");
    expect(f.record).toMatchObject({
      image_1: "images/q1_1.png",
      image_3: "images/q1_3.png",
      subset_for_metrics: "Basic_Medical_Science",
      img_type: ["Diagrams"],
      explanation: null,
    });
    expect(f.record).not.toHaveProperty("image_2");
    expect(f.warnings).toEqual(["row q1: <image 2> has no image_2"]);
  });

  test("keeps a row whose options are a nested list, as NeMo-Skills' prepare writes it", () => {
    // The dataset's validation_Accounting_29 (vision and standard): one option, a list, which
    // get_mcq_fields writes with Python's str() of it.
    const options = "[['A', 'B', 'Not enough information']]";
    const vision = {
      id: "validation_Accounting_29",
      image: { bytes: PNG },
      options,
      answer: "B",
      subject: "Accounting",
    };
    expect(formatVisionRow(vision, "validation_Accounting_29")!.record).toMatchObject({
      problem: "\n\nA) ['A', 'B', 'Not enough information']",
      options: ["['A', 'B', 'Not enough information']"],
      expected_answer: "B",
    });
    const standard = { ...vision, image: undefined, question: "Which call option? <image 1>", image_1: { bytes: PNG } };
    expect(formatStandardRow(standard, "validation_Accounting_29").record).toMatchObject({
      problem: "Which call option? <image 1>\n\nA) ['A', 'B', 'Not enough information']",
      image_1: "images/validation_Accounting_29_1.png",
    });
  });

  test("reports a bad options string with the row id", () => {
    const row = { id: "q9", image: { bytes: PNG }, options: "a, b", answer: "A", subject: "Art" };
    expect(() => formatVisionRow(row, "q9")).toThrow(/row q9: options/);
  });

  test("makes safe file stems from ids", () => {
    expect(safeStem("test_Art_1")).toBe("test_Art_1");
    expect(safeStem("../etc/passwd")).toBe("__etc_passwd");
    expect(safeStem("")).toBe("_");
  });
});
