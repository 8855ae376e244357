import { describe, expect, it } from "vitest";
import { formatChartQaRow } from "../../../src/benchmarks/chartqa/rows.js";
import { formatDocVqaRow } from "../../../src/benchmarks/docvqa/rows.js";

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe("hub rows without their image (a NULL image column)", () => {
  it("are left out of ChartQA and DocVQA, as MMMU-Pro's are, instead of stopping the prepare", () => {
    const chart = { query: "How many?", label: ["3"], human_or_machine: 0 };
    expect(formatChartQaRow({ ...chart, image: null }, "test", 4)).toBeNull();
    expect(formatChartQaRow({ ...chart, image: { bytes: new Uint8Array(0), path: null } }, "test", 4)).toBeNull();
    expect(formatChartQaRow({ ...chart, image: { bytes: png, path: "c.png" } }, "test", 4)?.record.id).toBe(
      "chartqa_test_4",
    );
    const doc = { questionId: "q1", question: "Date?", docId: 7, answers: ["1999"] };
    expect(formatDocVqaRow({ ...doc, image: null })).toBeNull();
    expect(formatDocVqaRow({ ...doc, image: { bytes: png, path: "d.png" } })?.record.id).toBe("q1");
  });
});
