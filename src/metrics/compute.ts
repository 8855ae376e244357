import { UsageError } from "../errors.js";
import { MetricsAccumulator } from "./accumulator.js";
import { parseJsonLine } from "./json-line.js";
import { LineSource } from "./read-lines.js";
import { type RowRecord, toRecord } from "./record.js";
import { ALL_SUBSETS, type GroupMetrics, type OrderedMetrics } from "./types.js";

export type ComputeOptions = {
  /** Only the first N rows (NeMo-Skills' --max_samples); all when undefined or negative. */
  maxSamples?: number;
  /** majority@k votes by answer alone (vlmpipe's opt-in) instead of NeMo-Skills' (answer, verdict) pairs. */
  majorityByAnswer?: boolean;
  /**
   * Groups a subset also counts in (a benchmark's metric grouping, e.g. MMMU's disciplines),
   * reported after the subsets.
   */
  groupsOf?: (subset: string) => readonly string[];
};

/**
 * computeSubsetMetrics as an object, for lookups by subset (`_all_`, a subset's name). A JavaScript
 * object lists integer-like keys (a subset "3") first: use computeSubsetMetrics for NeMo-Skills' order.
 */
export async function computeMetrics(
  files: readonly string[],
  opts: ComputeOptions = {},
): Promise<Record<string, GroupMetrics>> {
  return Object.fromEntries(await computeSubsetMetrics(files, opts));
}

/**
 * The metrics of one benchmark's output files (one greedy `output.jsonl`, or one file per
 * seed), keyed by subset: `_all_` first, then each `subset_for_metrics` value in order of first
 * appearance (a `null` subset is the subset "None", as upstream), then the groupsOf groups. As in
 * NeMo-Skills the files are sorted by name and their rows are matched by position (line i of every
 * file is the same question); a row's subset is its first file's.
 * Streams: only a small record per line is kept while reading (and, with several runs, each row's
 * verdicts and token counts for the statistics: see RunStatisticsAccumulator).
 */
export async function computeSubsetMetrics(
  files: readonly string[],
  opts: ComputeOptions = {},
): Promise<Map<string, GroupMetrics>> {
  if (files.length === 0) throw new UsageError("no output files to summarize");
  const sources = [...files].sort().map((f) => new LineSource(f));
  const make = () => new MetricsAccumulator({ majorityByAnswer: opts.majorityByAnswer });
  // By NeMo-Skills' dict key (RowRecord.subsetKey), each with its name.
  const groups = new Map<string, { name: string; acc: MetricsAccumulator }>([
    [ALL_SUBSETS, { name: ALL_SUBSETS, acc: make() }],
  ]);
  const extra = new Map<string, MetricsAccumulator>();
  const max = opts.maxSamples !== undefined && opts.maxSamples >= 0 ? opts.maxSamples : Number.POSITIVE_INFINITY;
  try {
    for (let row = 0; row < max; row++) {
      const records: RowRecord[] = [];
      let ended = 0;
      for (const src of sources) {
        let line = src.takeBuffered();
        if (line === null) line = await src.next();
        if (line === undefined) {
          ended++;
          continue;
        }
        records.push(toRecord(parseLine(line, src), line));
      }
      if (ended === sources.length) break;
      if (ended > 0) throw mismatch(sources, row);
      const subset = records[0]!.subset ?? ALL_SUBSETS;
      const key = records[0]!.subsetKey ?? subset;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = { name: subset, acc: make() }));
      groups.get(ALL_SUBSETS)!.acc.update(records);
      if (key === ALL_SUBSETS) continue;
      group.acc.update(records);
      for (const g of opts.groupsOf?.(group.name) ?? []) {
        let ga = extra.get(g);
        if (ga === undefined) extra.set(g, (ga = make()));
        ga.update(records);
      }
    }
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
  const out = new Map<string, GroupMetrics>();
  for (const { name, acc } of groups.values()) out.set(name, acc.metrics());
  for (const [group, acc] of extra) if (!out.has(group)) out.set(group, acc.metrics());
  return out;
}

/**
 * Names a benchmark's subset metrics the NeMo-Skills way, in order: with subsets, `<benchmark>`
 * (all rows) and `<benchmark>-<subset>`; without, `<benchmark>` alone.
 */
export function nameSubsets(
  benchmark: string,
  bySubset: ReadonlyMap<string, GroupMetrics> | Readonly<Record<string, GroupMetrics>>,
): OrderedMetrics {
  const entries = bySubset instanceof Map ? [...bySubset] : Object.entries(bySubset);
  if (entries.length <= 1) {
    const all = entries.find(([k]) => k === ALL_SUBSETS)?.[1];
    return new Map([[benchmark, all ?? {}]]);
  }
  return new Map(entries.map(([k, m]) => [k === ALL_SUBSETS ? benchmark : `${benchmark}-${k}`, m]));
}

/** A line as json.loads reads it (NaN and Infinity included: see parseJsonLine). */
function parseLine(line: string, src: LineSource): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseJsonLine(line);
  } catch (e) {
    throw new UsageError(`${src.path}:${src.lineNumber}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new UsageError(`${src.path}:${src.lineNumber}: not a JSON object`);
  }
  return v as Record<string, unknown>;
}

function mismatch(sources: readonly LineSource[], row: number): UsageError {
  return new UsageError(
    `the output files do not have the same number of rows (some end after ${row}): ${sources.map((s) => s.path).join(", ")}; ` +
      "every seed's file must be complete before summarizing",
  );
}
