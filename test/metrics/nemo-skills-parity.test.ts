import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { computeSubsetMetrics, nameSubsets } from "../../src/metrics/compute.js";
import { pyJsonDump } from "../../src/metrics/py-json.js";

// Output files made for the purpose (ties, split verdicts for one answer, rows no run answered,
// subsets, null subsets, a greedy file, vlmpipe's own error objects and foreign `error` fields) and
// the metrics.json NeMo-Skills main computes from them: its MathMetrics / BaseMetrics
// (base.py @ 1ffb46f), ComputeMetrics' subset loop and summarize_results' naming, run with
// Python 3.11 and numpy (see docs/fidelity.md), saved with json.dump(indent=1). vlmpipe's own error
// lines carry predicted_answer null and symbolic_correct false, what vlmpipe counts them as.
const DIR = join(import.meta.dirname, "../fixtures/nemo-skills-fidelity/metrics");
const CASES = readdirSync(DIR).sort();
const ADDITIONS = new Set(["num_errors", "extractor_disagreement"]);

function withoutAdditions(v: unknown): unknown {
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, withoutAdditions(x)]));
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !ADDITIONS.has(k))
      .map(([k, x]) => [k, withoutAdditions(x)]),
  );
}

/** json.dump(indent=1) text as indent=2 writes it: every leading space doubled, no newline at the end. */
function asIndent2(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => " ".repeat(l.length - l.trimStart().length) + l)
    .join("\n");
}

describe.each(CASES)("metrics of %s = NeMo-Skills main's", (name) => {
  it("writes upstream's metrics.json byte for byte, vlmpipe's additions aside: same order, same floats, same ints", async () => {
    const dir = join(DIR, name);
    const files = readdirSync(dir)
      .filter((f) => f.startsWith("output"))
      .map((f) => join(dir, f));
    const ours = nameSubsets("mmmu-pro", await computeSubsetMetrics(files));
    const theirs = readFileSync(join(dir, "expected-metrics.json"), "utf8");
    expect(pyJsonDump(withoutAdditions(ours))).toBe(asIndent2(theirs));
  });
});
