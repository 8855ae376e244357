import { describe, expect, it } from "vitest";
import { pyJsonDump } from "../../src/metrics/py-json.js";
import { readMetricsJson } from "../../src/metrics/read-metrics.js";
import type { OrderedMetrics } from "../../src/metrics/types.js";

describe("readMetricsJson", () => {
  it("gives the entries in the file's order, names that look like integers included", () => {
    const m: OrderedMetrics = new Map([
      ["bench", { "pass@1": { num_entries: 3, symbolic_correct: 50 } }],
      ["bench-3", { "pass@1": { num_entries: 1, symbolic_correct: 0 } }],
      ["10", { "pass@1": { num_entries: 2, symbolic_correct: 100 } }],
      ["2", { "pass@1": { num_entries: 1, symbolic_correct: 0 } }],
    ]);
    const text = pyJsonDump(m);
    // JSON.parse alone puts "2" and "10" first.
    expect(Object.keys(JSON.parse(text))).toEqual(["2", "10", "bench", "bench-3"]);
    const back = readMetricsJson(text);
    expect([...back.keys()]).toEqual(["bench", "bench-3", "10", "2"]);
    expect(back.get("10")).toEqual({ "pass@1": { num_entries: 2, symbolic_correct: 100 } });
  });
});
