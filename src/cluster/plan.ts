import { readdir } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors.js";
import { inspectOutput, type OutputStanding } from "../output/open-output.js";
import { outputPaths } from "../output/partial-output.js";
import { readSpec, specDifferences } from "../output/run-spec.js";
import { countRows } from "../progress/count-rows.js";
import { type BenchmarkRun, outputName, parseBenchmarks } from "../run/benchmark-spec.js";
import { setUpRun } from "../run/run-setup.js";
import { chunkFileName, chunkRanges } from "./chunks.js";
import { dataFile, maxSamplesOf } from "./eval-inputs.js";
import { jobRunOptions } from "./job-options.js";
import { specRowRange } from "./output-state.js";
import type { EvalSettings } from "./settings.js";

export type ChunkRef = { index: number; count: number; start: number; end: number };

/** One unit of work: a (benchmark, seed) run, or one chunk of it. */
export type EvalJob = {
  /** `mmmu-pro/output-rs0_chunk_1`: unique within an eval. */
  key: string;
  benchmark: string;
  seed: number | null;
  /** null: the whole input (no chunking, or a merged output being retried). */
  chunk: ChunkRef | null;
  inputFile: string;
  outputFile: string;
  logFile: string;
};

export type SeedPlan = {
  benchmark: string;
  seed: number | null;
  /** The (merged) output: `output[-rs<seed>].jsonl`. */
  outputFile: string;
  /** The chunk jobs (empty chunks left out); null when the eval is not chunked. */
  chunks: EvalJob[] | null;
  /** The job that writes `outputFile` directly. */
  whole: EvalJob;
};

export type BenchmarkPlan = {
  run: BenchmarkRun;
  name: string;
  dir: string;
  inputFile: string;
  /** Rows taken from the input (after ++max_samples). */
  rows: number;
  seeds: SeedPlan[];
};

export type EvalPlan = { settings: EvalSettings; logsDir: string; benchmarks: BenchmarkPlan[] };

/**
 * Every job the eval is made of, from the benchmarks, seeds and `--num_chunks` (NeMo-Skills'
 * rule: K contiguous chunks, the first n % K one row longer; of the first max_samples rows, where
 * NeMo-Skills cuts each chunk to max_samples, so that a chunked run is the unchunked one),
 * written to `output[-rs<seed>]_chunk_<i>.jsonl`. What is already done is decided apart
 * (pendingJobs), so a job can be found again from its name alone (findJob).
 */
export async function planEval(settings: EvalSettings): Promise<EvalPlan> {
  if (!Number.isInteger(settings.numChunks) || settings.numChunks < 1)
    throw new UsageError("--num_chunks takes a positive whole number");
  const resultsDir = path.join(settings.outputDir, "eval-results");
  const logsDir = path.join(settings.outputDir, "eval-logs");
  const max = maxSamplesOf(settings.overrides) ?? Infinity;
  const benchmarks: BenchmarkPlan[] = [];
  for (const run of parseBenchmarks(settings.benchmarks)) {
    const name = run.benchmark.name;
    if (benchmarks.some((b) => b.name === name)) throw new UsageError(`--benchmarks names ${name} twice`);
    const inputFile = await dataFile(settings.dataDir, run, settings.split);
    const rows = await countRows(inputFile, max);
    const dir = path.join(resultsDir, name);
    const job = (seed: number | null, file: string, chunk: ChunkRef | null): EvalJob =>
      makeJob({ name, dir, inputFile }, logsDir, seed, file, chunk);
    const seeds = (run.seeds ?? [null]).map((seed): SeedPlan => {
      const out = outputName(seed);
      // (chunkRanges leaves out empty chunks: with more chunks than rows, those past the last row)
      const chunks =
        settings.numChunks > 1
          ? chunkRanges(rows, settings.numChunks).map((r, index) =>
              job(seed, chunkFileName(out, index), { ...r, index, count: settings.numChunks }),
            )
          : null;
      return { benchmark: name, seed, outputFile: path.join(dir, out), chunks, whole: job(seed, out, null) };
    });
    benchmarks.push({ run, name, dir, inputFile, rows, seeds });
  }
  return { settings, logsDir, benchmarks };
}

function makeJob(
  b: Pick<BenchmarkPlan, "name" | "dir" | "inputFile">,
  logsDir: string,
  seed: number | null,
  file: string,
  chunk: ChunkRef | null,
): EvalJob {
  const base = file.replace(/\.jsonl$/, "");
  return {
    key: `${b.name}/${base}`,
    benchmark: b.name,
    seed,
    chunk,
    inputFile: b.inputFile,
    outputFile: path.join(b.dir, file),
    logFile: path.join(logsDir, `${b.name}-${base}.log`),
  };
}

/** The job named by eval_job's --job_benchmark/--job_seed/--job_chunk. */
export function findJob(plan: EvalPlan, benchmark: string, seed: number | null, chunk: number | null): EvalJob {
  const b = plan.benchmarks.find((x) => x.name === benchmark);
  if (!b) throw new UsageError(`no benchmark ${benchmark} in --benchmarks ${plan.settings.benchmarks}`);
  const s = b.seeds.find((x) => x.seed === seed);
  if (!s)
    throw new UsageError(
      `${benchmark} has no ${seed === null ? "greedy run" : `seed ${seed}`} in --benchmarks ${plan.settings.benchmarks}`,
    );
  if (chunk === null) return s.whole;
  const j = s.chunks?.find((c) => c.chunk?.index === chunk);
  if (!j)
    throw new UsageError(
      `${benchmark} has no chunk ${chunk} (--num_chunks ${plan.settings.numChunks}, ${b.rows} rows)`,
    );
  return j;
}

export type PendingJobs = {
  pending: EvalJob[];
  /** Jobs skipped because their output is complete. */
  skipped: EvalJob[];
  /** Things the user should know (a partial unchunked run resumed as it is, ...). */
  notes: string[];
};

/**
 * The jobs still to run. A (benchmark, seed) whose output is complete is skipped; one whose
 * output is done but has failed rows or rows appended to its input, or is a partial unchunked
 * run, gets its whole job (which retries, does or resumes just what is missing); otherwise
 * each chunk that is not complete is a job. Every existing output is first proved to be this
 * eval's (its settings and its rows' input digests, see inspectOutput): one of another run, or
 * a chunk written for another chunking, is refused before any request, unless --overwrite,
 * which makes every job run again from scratch.
 */
export async function pendingJobs(plan: EvalPlan): Promise<PendingJobs> {
  const out: PendingJobs = { pending: [], skipped: [], notes: [] };
  const rerun = plan.settings.rerunDone;
  for (const b of plan.benchmarks) {
    await checkFolderOutputs(plan, b);
    for (const s of b.seeds) {
      if (rerun) {
        out.pending.push(...(s.chunks ?? [s.whole]));
        continue;
      }
      const merged = await standing(plan, s.whole);
      if (merged.state === "complete") {
        out.skipped.push(...(s.chunks ?? [s.whole]));
        continue;
      }
      if (!s.chunks || merged.state !== "absent") {
        const what =
          merged.state === "grown"
            ? `has ${merged.appended} rows appended to its input: doing them${s.chunks ? " in one job" : ""}`
            : merged.state === "partial"
              ? "is a partial run without chunks: resuming it as it is"
              : "has failed rows: retrying them in one job";
        if (s.chunks || merged.state === "grown") out.notes.push(`${path.basename(s.outputFile)} of ${b.name} ${what}`);
        out.pending.push(s.whole);
        continue;
      }
      for (const c of s.chunks) {
        const chunk = c.chunk as ChunkRef;
        const range = await specRowRange(c.outputFile);
        if (range && (range[0] !== chunk.start || range[1] !== chunk.end)) {
          throw new UsageError(
            `${c.outputFile} holds rows ${range[0]}-${range[1]}, but with --num_chunks ${chunk.count} chunk ${chunk.index} is rows ` +
              `${chunk.start}-${chunk.end}: use the --num_chunks (and ++max_samples) of the earlier run, or --overwrite to redo every chunk`,
          );
        }
        if ((await standing(plan, c)).state === "complete") out.skipped.push(c);
        else out.pending.push(c);
      }
    }
  }
  return out;
}

/** The names summarize_results reads as seeds (NeMo-Skills' glob `output-rs[0-9]*.jsonl`, chunks left out). */
const SEED_OUTPUT = /^output-rs\d.*\.jsonl$/;

/**
 * The outputs in a benchmark's folder that summarize_results reads besides this eval's own,
 * checked before any job runs. It averages every `output-rs*.jsonl` there (as NeMo-Skills' does),
 * so a seed another run left in the folder (`mmmu-pro:4` of another model, then `mmmu-pro:2
 * --overwrite`, which rewrites rs0 and rs1 only) would be mixed into this eval's metrics without
 * a word: one whose spec differs from what this eval runs for that seed is refused. Seeds of this
 * run (`:4` earlier, `:2` now) count, as upstream. A greedy `output.jsonl` beside seeded outputs
 * (or the reverse) makes summarize_results refuse: said here, before the jobs rather than after.
 */
async function checkFolderOutputs(plan: EvalPlan, b: BenchmarkPlan): Promise<void> {
  let names: string[];
  try {
    names = await readdir(b.dir);
  } catch {
    return; // no folder yet: nothing of another run
  }
  const seeded = b.run.seeds !== null;
  const seedFiles = names.filter((n) => SEED_OUTPUT.test(n) && !n.includes("_chunk_")).sort();
  const clash = seeded ? (names.includes("output.jsonl") ? ["output.jsonl"] : []) : seedFiles;
  if (clash.length > 0) {
    throw new UsageError(
      `${b.dir} holds ${clash.join(", ")} of a ${seeded ? "greedy run" : "sampled run"}: with this eval's ` +
        `${seeded ? "output-rs<seed>.jsonl" : "output.jsonl"} beside ${clash.length > 1 ? "them" : "it"}, summarize_results ` +
        `cannot tell which run to summarize. Move ${clash.length > 1 ? "them" : "it"} out of the folder ` +
        "(with the .done, .spec.json and .row-digests beside), or use another --output_dir",
    );
  }
  const ours = new Set(b.seeds.map((s) => path.basename(s.outputFile)));
  for (const name of seedFiles) {
    if (ours.has(name)) continue;
    const file = path.join(b.dir, name);
    const prev = await readSpec(outputPaths(file).spec);
    // Without a spec (NeMo-Skills' own outputs, earlier versions') there is nothing to compare.
    const seed = Number(/^output-rs(\d+)\.jsonl$/.exec(name)?.[1] ?? prev?.inference?.random_seed);
    if (!prev || !Number.isInteger(seed)) continue;
    const { spec } = await setUpRun(jobRunOptions(plan, makeJob(b, plan.logsDir, seed, name, null)));
    const diffs = specDifferences(prev, spec);
    if (diffs.length === 0) continue;
    throw new UsageError(
      `${file} is not of this eval's run:\n${diffs.map((d) => `  ${d}`).join("\n")}\n` +
        `summarize_results averages every output-rs*.jsonl of ${b.dir} into the metrics of ${b.name}, so it would be ` +
        "mixed into this eval's numbers. Move it out of the folder (with the .done, .spec.json and .row-digests beside), " +
        "or use another --output_dir",
    );
  }
}

/** Where a job's output stands against what the job would run now; refuses another run's output. */
async function standing(plan: EvalPlan, job: EvalJob): Promise<OutputStanding> {
  const o = jobRunOptions(plan, job);
  const { spec, config } = await setUpRun(o);
  return inspectOutput({
    outputFile: job.outputFile,
    spec,
    inputFile: job.inputFile,
    rowRange: o.rowRange,
    maxSamples: config.max_samples,
    overrideFlags: o.overrideFlags,
  });
}

/** "mmmu-pro rs0 chunk 1/3 (rows 20-40)" for logs. */
export function describeJob(j: EvalJob): string {
  const seed = j.seed === null ? "greedy" : `rs${j.seed}`;
  const chunk = j.chunk ? ` chunk ${j.chunk.index}/${j.chunk.count} (rows ${j.chunk.start}-${j.chunk.end})` : "";
  return `${j.benchmark} ${seed}${chunk}`;
}
