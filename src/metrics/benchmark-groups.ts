import { type GroupMetrics, INT_METRICS, type ModeMetrics, type OrderedMetrics } from "./types.js";

/**
 * vlmpipe's own keys (NeMo-Skills' metrics have none of them, so they never make it refuse a group):
 * averaged when every benchmark of the group has them, else left out of it.
 */
const ADDITIONS: ReadonlySet<string> = new Set(["anls", "num_errors", "extractor_disagreement"]);

/**
 * NeMo-Skills' add_benchmark_groups (nemo_skills/pipeline/summarize_results.py): benchmarks (and
 * subsets) named `<prefix>.<rest>`, at least two sharing the prefix (split at the last dot), get an
 * entry `<prefix>` with each metric averaged over them (`sum(values) / len(values)`, Python 3.10's sum,
 * NeMo-Skills' container's, adding one after another; a metric NeMo-Skills has as an int truncated to
 * an int; the modes in the first member's order, where upstream's set has no fixed one), num_entries left
 * out and `num_benchmarks_in_group` added. The groups come first, in order of their first member,
 * then every other entry (one named like a group is replaced by it, as upstream).
 * Where NeMo-Skills raises instead (a mode or a metric some members lack, or a value that is not a
 * number: the `_statistics` objects of runs with several seeds), the group is left out and
 * `skipped` says why.
 */
export function addBenchmarkGroups(results: OrderedMetrics): { results: OrderedMetrics; skipped: string[] } {
  const byPrefix = new Map<string, string[]>();
  for (const name of results.keys()) {
    const dot = name.lastIndexOf(".");
    if (dot < 0) continue;
    const prefix = name.slice(0, dot);
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), name]);
  }
  const out: OrderedMetrics = new Map();
  const skipped: string[] = [];
  for (const [prefix, members] of byPrefix) {
    if (members.length <= 1) continue;
    const group = averageGroup(members.map((m) => [m, results.get(m)!]));
    if (typeof group === "string") skipped.push(`no "${prefix}" group average of ${members.join(", ")}: ${group}`);
    else out.set(prefix, group);
  }
  for (const [name, modes] of results) if (!out.has(name)) out.set(name, modes);
  return { results: out, skipped };
}

/** The group's modes, or why NeMo-Skills could not make them. */
function averageGroup(members: Array<[string, GroupMetrics]>): GroupMetrics | string {
  const [refName, ref] = members[0]!;
  const modes = new Set(members.flatMap(([, m]) => Object.keys(m)));
  const out: GroupMetrics = {};
  for (const mode of modes) {
    const missing = members.filter(([, m]) => !(mode in m)).map(([name]) => name);
    if (missing.length > 0) return `${missing.join(", ")} lack ${mode} (NeMo-Skills stops with ValueError)`;
    const upstreamKeys = (m: ModeMetrics) =>
      Object.keys(m)
        .filter((k) => !ADDITIONS.has(k))
        .sort()
        .join("\n");
    for (const [name, m] of members.slice(1)) {
      if (upstreamKeys(m[mode]!) !== upstreamKeys(ref[mode]!)) {
        return `${name} and ${refName} have different metrics in ${mode} (NeMo-Skills stops with ValueError)`;
      }
    }
    const averaged: ModeMetrics = {};
    for (const key of Object.keys(ref[mode]!)) {
      if (key === "num_entries") continue;
      const values = members.map(([, m]) => m[mode]![key]);
      if (values.some((v) => v === undefined)) continue; // a vlmpipe addition some members lack
      if (values.some((v) => typeof v !== "number")) {
        return `${key} of ${mode} is an object, which cannot be averaged (runs with several seeds; NeMo-Skills stops with TypeError)`;
      }
      let sum = 0;
      for (const v of values as number[]) sum += v;
      const mean = sum / values.length;
      averaged[key] = INT_METRICS.has(key) ? Math.trunc(mean) : mean;
    }
    averaged.num_benchmarks_in_group = members.length;
    out[mode] = averaged;
  }
  return out;
}
