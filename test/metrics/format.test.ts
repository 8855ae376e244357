import { describe, expect, it } from "vitest";
import { formatMetrics, formatTable, pyFixed2 } from "../../src/metrics/format.js";

const row = (
  num_entries: number,
  avg_tokens: number,
  symbolic_correct: number,
  no_answer: number,
  gen_seconds?: number,
) => ({
  num_entries,
  avg_tokens,
  ...(gen_seconds === undefined ? {} : { gen_seconds }),
  symbolic_correct,
  no_answer,
});

describe("formatTable", () => {
  // Tables from NeMo-Skills' tests/data/eval_outputs/summarize_results_output.txt.
  it("prints a sampled benchmark as NeMo-Skills does", () => {
    const gpqa = {
      "pass@1": row(4, 5363, 50, 0),
      "pass@2": row(4, 5363, 50, 0),
      "pass@4": row(4, 5363, 75, 0),
      "pass@1[avg-of-4]": row(4, 5363, 50, 6.25),
      "majority@2": row(4, 5363, 50, 0),
      "majority@4": row(4, 5363, 50, 0),
    };
    expect(formatTable("gpqa", gpqa)).toBe(
      [
        "---------------------------------- gpqa ----------------------------------",
        "evaluation_mode  | num_entries | avg_tokens | symbolic_correct | no_answer",
        "pass@1[avg-of-4] | 4           | 5363       | 50.00%           | 6.25%    ",
        "majority@4       | 4           | 5363       | 50.00%           | 0.00%    ",
        "pass@4           | 4           | 5363       | 75.00%           | 0.00%    ",
        "",
        "",
        "",
      ].join("\n"),
    );
  });

  it("centres an odd-length title the Python way", () => {
    const aime = {
      "pass@3": row(5, 9869, 80, 0, 60037),
      "pass@1[avg-of-3]": row(5, 9869, 80, 0, 60037),
      "majority@3": row(5, 9869, 80, 0, 60037),
    };
    const lines = formatTable("math-aime25", aime).split("\n");
    expect(lines[0]).toBe("------------------------------------- math-aime25 --------------------------------------");
    expect(lines[1]).toBe("evaluation_mode  | num_entries | avg_tokens | gen_seconds | symbolic_correct | no_answer");
    expect(lines[2]).toBe("pass@1[avg-of-3] | 5           | 9869       | 60037       | 80.00%           | 0.00%    ");
  });

  it("prints a greedy run's single pass@1 row, with our error and disagreement columns", () => {
    const text = formatTable("mmmu-pro", {
      "pass@1": {
        num_entries: 1730,
        avg_tokens: 812,
        symbolic_correct: 50.0578,
        no_answer: 0.1156,
        num_errors: 2,
        extractor_disagreement: 0.34,
      },
    });
    expect(text.split("\n").slice(1, 3)).toEqual([
      "evaluation_mode | num_entries | avg_tokens | symbolic_correct | no_answer | num_errors | extractor_disagreement",
      "pass@1          | 1730        | 812        | 50.06%           | 0.12%     | 2          | 0.34%                 ",
    ]);
  });

  it("shows the spread across runs next to the score, and hides the statistics objects", () => {
    const text = formatTable("b", {
      "pass@2": row(2, 10, 75, 0),
      "pass@1[avg-of-2]": {
        ...row(2, 10, 50, 0),
        symbolic_correct_statistics: {
          avg: 0.5,
          std_dev_across_runs: 0.125,
          avg_sample_std_dev: 0.3,
          std_err_across_runs: 0.088,
        },
      },
      "majority@2": row(2, 10, 50, 0),
    });
    expect(text).toContain("| 50.00% ± 12.50%  |");
    expect(text).not.toContain("statistics");
  });

  it("names vlmpipe's own columns in a legend under the tables, only those shown", () => {
    const text = formatMetrics({
      a: {
        "pass@1": { num_entries: 2, symbolic_correct: 50, no_answer: 0, num_errors: 1, extractor_disagreement: 10 },
      },
    });
    const legend = text.split("\n\n\n")[1]!;
    expect(legend).toMatch(/^num_errors: vlmpipe's addition, not a NeMo-Skills metric: .*\n/);
    expect(legend).toMatch(/\nextractor_disagreement: vlmpipe's addition, not a NeMo-Skills metric: /);
    const docvqa = formatMetrics({ d: { "pass@1": { num_entries: 2, symbolic_correct: 50, anls: 75, no_answer: 0 } } });
    expect(docvqa).toMatch(/\n\n\nanls: vlmpipe's addition, not a NeMo-Skills metric: DocVQA's graded score/);
    const plain = formatMetrics({ b: { "pass@1": { num_entries: 2, symbolic_correct: 50, no_answer: 0 } } });
    expect(plain).not.toContain("addition");
  });

  it("prints nothing for a benchmark without modes", () => {
    expect(formatTable("empty", {})).toBe("");
    const text = formatMetrics({ a: {}, b: { "pass@1": row(1, 1, 100, 0) } });
    expect(text).toMatch(/^-+ b -+\n/);
    expect(text).not.toContain(" a ");
  });
});

describe("pyFixed2", () => {
  it("rounds like Python's .2f, ties to even", () => {
    expect([0.125, 0.375, 0.625, 0.875, 1.125, -0.125, 2.5, 12.345, 0.005, 99.995, 50.0578].map(pyFixed2)).toEqual([
      "0.12",
      "0.38",
      "0.62",
      "0.88",
      "1.12",
      "-0.12",
      "2.50",
      "12.35",
      "0.01",
      "100.00",
      "50.06",
    ]);
  });
});
