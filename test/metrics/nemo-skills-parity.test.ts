import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { computeMetrics, nameSubsets } from "../../src/metrics/compute.js";
import type { Metrics } from "../../src/metrics/types.js";

// Output files made for the purpose (ties, split verdicts for one answer, rows no run answered,
// subsets, null subsets, a greedy file, vlmpipe's own error objects and foreign `error` fields) and
// the metrics.json NeMo-Skills main computes from them: its MathMetrics / BaseMetrics
// (base.py @ 1ffb46f), ComputeMetrics' subset loop and summarize_results' naming, run with
// Python 3.11 and numpy (see docs/fidelity.md). vlmpipe's own error lines carry predicted_answer
// null and symbolic_correct false, what vlmpipe counts them as.
const DIR = join(import.meta.dirname, "../fixtures/nemo-skills-fidelity/metrics");
const CASES = readdirSync(DIR).sort();
const ADDITIONS = new Set(["num_errors", "extractor_disagreement"]);

/** Every key of upstream's at the same place in ours, numbers within 1e-9; ours may add only ADDITIONS. */
function differences(ours: unknown, theirs: unknown, path: string, out: string[]): void {
  if (typeof theirs === "number") {
    const close = typeof ours === "number" && Math.abs(ours - theirs) <= 1e-9;
    if (!close) out.push(`${path}: ${ours} vs upstream ${theirs}`);
    return;
  }
  if (typeof theirs !== "object" || theirs === null || typeof ours !== "object" || ours === null) {
    if (ours !== theirs) out.push(`${path}: ${JSON.stringify(ours)} vs upstream ${JSON.stringify(theirs)}`);
    return;
  }
  const o = ours as Record<string, unknown>;
  const t = theirs as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (!(k in o)) out.push(`${path}.${k}: missing`);
    else differences(o[k], t[k], `${path}.${k}`, out);
  }
  for (const k of Object.keys(o)) if (!(k in t) && !ADDITIONS.has(k)) out.push(`${path}.${k}: not in upstream's`);
}

describe.each(CASES)("metrics of %s = NeMo-Skills main's", (name) => {
  it("matches upstream's metrics.json key by key (1e-9), benchmarks and modes in upstream's order", async () => {
    const dir = join(DIR, name);
    const files = readdirSync(dir)
      .filter((f) => f.startsWith("output"))
      .map((f) => join(dir, f));
    const ours: Metrics = nameSubsets("mmmu-pro", await computeMetrics(files));
    const theirs = JSON.parse(readFileSync(join(dir, "expected-metrics.json"), "utf8")) as Metrics;
    const diffs: string[] = [];
    differences(ours, theirs, name, diffs);
    expect(diffs).toEqual([]);
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    for (const b of Object.keys(theirs)) expect(Object.keys(ours[b]!).sort()).toEqual(Object.keys(theirs[b]!).sort());
  });
});
