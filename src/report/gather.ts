import { getBenchmark } from "../benchmarks/index.js";
import { UsageError } from "../errors.js";
import { computeSubsetMetrics } from "../metrics/compute.js";
import { parseJsonLine } from "../metrics/json-line.js";
import type { BenchmarkOutputs } from "../metrics/locate.js";
import { LineSource } from "../metrics/read-lines.js";
import { type RowRecord, toRecord } from "../metrics/record.js";
import { ALL_SUBSETS, type GroupMetrics, type ModeMetrics } from "../metrics/types.js";
import { type RunSpec, readSpec } from "../output/run-spec.js";
import { promptBuilder } from "./prompt-parts.js";
import { TokenHistogram, wilsonInterval } from "./stats.js";
import { answerText, clipText } from "./text.js";
import type { HeadlineScore, ImageMode, ReportData, ReportLine, ReportRow, SubjectStats } from "./types.js";

export type GatherOptions = {
  /** Rows of each file embedded in the sample browser; negative: all. */
  maxSamples: number;
  /** Characters kept of a generation or reasoning text (at most; see TEXT_BUDGET). */
  textLimit: number;
  images: ImageMode;
  dataDir?: string;
};

/** The report's data, with each embedded row's image references still to resolve (`imageRefs[i]` for `samples.rows[i]`). */
export type Gathered = { data: ReportData; imageRefs: string[][]; spec: RunSpec | null };

/**
 * Characters of generation and reasoning text in one page, all lines together: with thousands
 * of 131K-token reasoning traces the per-text limit shrinks (to no less than MIN_TEXT) so the
 * page stays openable (tens of MB, not hundreds).
 */
const TEXT_BUDGET = 40_000_000;
const MIN_TEXT = 2_000;

/** A subject's (or group's, or the benchmark's) rows and each run's sum of the headline score. */
type Tally = { questions: number; sums: number[] };

/**
 * Reads a benchmark folder's output files, streaming: each run's score per subject (the seeds'
 * dots and range), the token histogram, and the first `maxSamples` lines of each file for the
 * sample browser (the rest only counts). Every number the page prints as a metric (tables,
 * tiles, the subjects' scores and their order, MMMU's disciplines) comes from computeSubsetMetrics
 * (a pass of its own over the files) with the benchmark's metric groups, so they are the numbers
 * summarize_results prints and metrics.json holds.
 */
export async function gatherReport(outputs: BenchmarkOutputs, opts: GatherOptions): Promise<Gathered> {
  const groupsOf = getBenchmark(outputs.name)?.metricGroups;
  const ordered = await computeSubsetMetrics(outputs.files, { groupsOf });
  const metrics = Object.fromEntries(ordered);
  const runs = outputs.files.length;
  const primaryMode = runs >= 2 ? `pass@1[avg-of-${runs}]` : "pass@1";
  const score: HeadlineScore =
    typeof metrics[ALL_SUBSETS]?.[primaryMode]?.anls === "number"
      ? { key: "anls", label: "ANLS" }
      : { key: "symbolic_correct", label: "accuracy" };
  const scoreOf = (rec: RowRecord) => (score.key === "anls" ? (rec.anls ?? 0) : (rec.symbolic ?? 0));
  const spec = await readSpec(`${outputs.files[0]}.spec.json`);
  const build = await promptBuilder(spec);
  const cap = opts.maxSamples < 0 ? Number.POSITIVE_INFINITY : opts.maxSamples;
  const rowCount = firstMode(metrics._all_)?.num_entries;
  const embedded = Math.min(cap, typeof rowCount === "number" ? rowCount : cap) * runs;
  const textLimit = Math.min(opts.textLimit, Math.max(MIN_TEXT, Math.floor(TEXT_BUDGET / Math.max(1, 2 * embedded))));

  const newTally = (): Tally => ({ questions: 0, sums: new Array<number>(runs).fill(0) });
  const all = newTally();
  // By metrics name: the subjects, and apart (as computeSubsetMetrics keeps them) the groups.
  const tallies = new Map<string, Tally>();
  const groupTallies = new Map<string, Tally>();
  // As computeSubsetMetrics groups rows: by RowRecord.subsetKey (1 and 1.0 are one subset, named
  // by its first row), a row's subject is its first file's, and rows match by position in the files.
  const subjectOfKey = new Map<string, string>();
  const rowSubject: (string | null)[] = [];
  const talliesOf = new Map<string | null, Tally[]>([[null, [all]]]);
  const targets = (subject: string | null): Tally[] => {
    let t = talliesOf.get(subject);
    if (t === undefined) {
      const groups = (groupsOf?.(subject!) ?? []).map((g) => tally(groupTallies, g, newTally));
      t = [all, tally(tallies, subject!, newTally), ...groups];
      talliesOf.set(subject, t);
    }
    return t;
  };
  const tokens = new TokenHistogram();
  let truncated = 0;
  const rows: ReportRow[] = [];
  const imageRefs: string[][] = [];
  const lines: ReportLine[] = [];

  for (const [run, file] of outputs.files.entries()) {
    const src = new LineSource(file);
    try {
      for (let i = 0; ; i++) {
        let text = src.takeBuffered();
        if (text === null) text = await src.next();
        if (text === undefined) break;
        const line = parseLine(text, src);
        const rec = toRecord(line, text);
        if (run === 0) rowSubject.push(subjectOf(rec, subjectOfKey));
        const subject = rowSubject[i] ?? null;
        const value = scoreOf(rec);
        for (const t of targets(subject)) {
          if (run === 0) t.questions++;
          t.sums[run]! += value;
        }
        if (rec.tokens !== undefined) tokens.add(rec.tokens, rec.correct === true);
        if (line.finish_reason === "length") truncated++;
        if (i >= cap) continue;
        if (run === 0) {
          const p = build(line, i);
          rows.push({
            id: answerText(line.id),
            subject,
            expected: answerText(line.expected_answer),
            ...(Array.isArray(line.answers) && line.answers.length > 1
              ? { answers: line.answers.map((a) => answerText(a) ?? "") }
              : {}),
            ...(p.system ? { system: p.system } : {}),
            prompt: p.prompt,
            images: [],
          });
          imageRefs.push(p.refs);
        }
        if (i < rows.length) lines.push(lineOf(line, i, run, textLimit));
      }
    } finally {
      await src.close();
    }
  }
  // Seeds of one question side by side.
  lines.sort((a, b) => a.row - b.row || a.run - b.run);

  const stats = (name: string, t: Tally, group = false) =>
    subjectStats(name, metrics[name] ?? {}, t, { primaryMode, score, group });
  const data: ReportData = {
    benchmark: outputs.name,
    created: new Date().toISOString(),
    ...(spec?.model ? { model: spec.model } : {}),
    runs: outputs.files.map((f, i) => ({ label: outputs.greedy ? "greedy" : seedLabel(f, i), file: f })),
    greedy: outputs.greedy,
    primaryMode,
    score,
    metrics,
    overall: { ...stats(ALL_SUBSETS, all), name: outputs.name },
    // metrics.json's order: the subjects, then the groups (a group named as a subject is left out there).
    subjects: [...ordered.keys()].flatMap((name) => {
      if (name === ALL_SUBSETS) return [];
      const subject = tallies.get(name);
      if (subject) return [stats(name, subject)];
      const group = groupTallies.get(name);
      return group ? [stats(name, group, true)] : [];
    }),
    tokens: { bins: tokens.bins(), summary: tokens.summary(), truncated },
    ...(spec ? { spec: spec as unknown as Record<string, unknown> } : {}),
    samples: {
      rows,
      lines,
      totalRows: all.questions,
      embeddedRows: rows.length,
      maxSamples: opts.maxSamples,
      textLimit,
      images: opts.images,
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    },
  };
  return { data, imageRefs, spec };
}

function firstMode(modes: GroupMetrics | undefined): ModeMetrics | undefined {
  return modes === undefined ? undefined : Object.values(modes)[0];
}

function tally(map: Map<string, Tally>, name: string, make: () => Tally): Tally {
  let t = map.get(name);
  if (t === undefined) map.set(name, (t = make()));
  return t;
}

/** The row's subject as the metrics name it (its first row's name for the subset's key); null without one. */
function subjectOf(rec: RowRecord, names: Map<string, string>): string | null {
  if (rec.subset === undefined) return null;
  const key = rec.subsetKey ?? rec.subset;
  if (key === ALL_SUBSETS) return null;
  let name = names.get(key);
  if (name === undefined) names.set(key, (name = rec.subset));
  return name;
}

/**
 * A subject's numbers: questions and the headline score from its metrics (the primary mode), the
 * Wilson interval around that score, and each run's mean score from the report's own tally.
 * A graded score (ANLS) in [0, 1] has at most the variance of a 0/1 one with the same mean, so
 * the Wilson interval over its mean is conservative, as it is for a mean over seeds.
 */
function subjectStats(
  name: string,
  modes: GroupMetrics,
  t: Tally,
  opts: { primaryMode: string; score: HeadlineScore; group: boolean },
): SubjectStats {
  const m = modes[opts.primaryMode];
  const entries = m?.num_entries;
  const questions = typeof entries === "number" ? entries : t.questions;
  const value = m?.[opts.score.key];
  const accuracy = typeof value === "number" ? value / 100 : null;
  return {
    name,
    ...(opts.group ? { group: true } : {}),
    questions,
    score: typeof value === "number" ? value : null,
    accuracy,
    ci: accuracy === null ? null : wilsonInterval(accuracy * questions, questions),
    perRun: t.sums.map((sum) => (t.questions > 0 ? sum / t.questions : 0)),
  };
}

function lineOf(line: Record<string, unknown>, row: number, run: number, limit: number): ReportLine {
  const out: ReportLine = {
    row,
    run,
    correct: typeof line.symbolic_correct === "boolean" ? line.symbolic_correct : null,
    predicted: answerText(line.predicted_answer),
    generation: "",
  };
  if (typeof line.anls === "number") out.score = { name: "ANLS", value: line.anls };
  if ("predicted_answer_multichoice" in line) out.multichoice = answerText(line.predicted_answer_multichoice);
  if ("predicted_answer_official" in line) out.official = answerText(line.predicted_answer_official);
  if (out.multichoice != null && out.official != null && out.multichoice !== out.official) out.disagree = true;
  if (line.official_random_fallback === true) out.fallback = true;
  const err = errorOf(line.error);
  if (err) out.error = err;

  let generation = typeof line.generation === "string" ? line.generation : (answerText(line.generation) ?? "");
  let reasoning = typeof line.reasoning_content === "string" ? line.reasoning_content : undefined;
  if (reasoning === undefined && typeof line._full_generation === "string" && line._full_generation !== generation) {
    reasoning = line._full_generation;
  }
  if (reasoning === undefined) {
    // No reasoning parser on the server: the thinking is inside the text, folded like the rest.
    const end = generation.lastIndexOf("</think>");
    if (end >= 0) {
      reasoning = generation.slice(0, end).replace(/^\s*<think>/, "");
      generation = generation.slice(end + "</think>".length).replace(/^\s+/, "");
    }
  }
  out.generation = clipText(generation, limit);
  if (reasoning !== undefined && reasoning !== "") out.reasoning = clipText(reasoning, limit);
  if (typeof line.num_generated_tokens === "number") out.tokens = line.num_generated_tokens;
  if (typeof line.finish_reason === "string") out.finish = line.finish_reason;
  if (typeof line.generation_time === "number") out.seconds = line.generation_time;
  return out;
}

function errorOf(v: unknown): ReportLine["error"] {
  if (v === undefined || v === null || v === false) return undefined;
  if (typeof v === "object" && !Array.isArray(v)) {
    const e = v as Record<string, unknown>;
    return {
      message: typeof e.message === "string" ? e.message : JSON.stringify(v),
      ...(typeof e.code === "string" ? { code: e.code } : {}),
      ...(typeof e.stage === "string" ? { stage: e.stage } : {}),
    };
  }
  return { message: typeof v === "string" ? v : JSON.stringify(v) };
}

/** `output-rs3.jsonl` -> "seed 3"; other names keep theirs. */
function seedLabel(file: string, index: number): string {
  const m = /output-rs(\d+)[^/\\]*\.jsonl$/.exec(file);
  return m ? `seed ${m[1]}` : `run ${index}`;
}

function parseLine(text: string, src: LineSource): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseJsonLine(text);
  } catch (e) {
    throw new UsageError(`${src.path}:${src.lineNumber}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new UsageError(`${src.path}:${src.lineNumber}: not a JSON object`);
  return v as Record<string, unknown>;
}
