import { open, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { getBenchmark } from "../benchmarks/index.js";
import { errorMessage, UsageError } from "../errors.js";
import { summarizeResults } from "../metrics/summarize-results.js";
import type { Metrics } from "../metrics/types.js";
import { acquireOutputLock, type OutputLock, staleSecondsFromEnv } from "../output/output-lock.js";
import { exists, outputPaths, removeOutputFiles, removeStaleTemporaries } from "../output/partial-output.js";
import { readSpec, writeSpec } from "../output/run-spec.js";
import { writeReport } from "../report/write-report.js";
import { sleep } from "../util/sleep.js";
import { majorityByAnswerOf, maxSamplesOf } from "./eval-inputs.js";
import { countFailedRows, outputState } from "./output-state.js";
import type { EvalPlan, SeedPlan } from "./plan.js";

export type MergeResult = "merged" | "complete" | "incomplete";

/**
 * Concatenates a seed's chunk outputs, in chunk order, into its output (NeMo-Skills'
 * merge_chunks), once every chunk has its `.done`; then writes the output's spec (the chunks'
 * one, without the row range, so an unchunked rerun may resume it) and `.done`, and removes the
 * chunk files. Each chunk output is in input order, so the result is line for line what an
 * unchunked run writes. Written to a temporary file and renamed: a kill leaves the chunks.
 */
export async function mergeChunks(seed: SeedPlan, log: (l: string) => void = () => {}): Promise<MergeResult> {
  const chunks = seed.chunks;
  const merged = outputPaths(seed.outputFile);
  if (!chunks) return (await exists(merged.done)) ? "complete" : "incomplete";
  const before = await nothingToMerge(seed, chunks);
  if (before) return before;

  // One merger at a time (two evals finishing at once, a local finish beside a Slurm merge
  // job): the merged output's lock, then the state again, as the other may have merged meanwhile.
  const lock = await lockWaiting(seed.outputFile);
  try {
    const now = await nothingToMerge(seed, chunks);
    if (now) return now;
    // What a merge killed half-way left (its temporary output, digests or spec).
    await removeStaleTemporaries(merged);
    // The digests first: an output in place always has its own.
    await mergeDigests(
      chunks.map((c) => outputPaths(c.outputFile).digests),
      merged.digests,
    );
    const rows = await concatenate(
      chunks.map((c) => c.outputFile),
      seed.outputFile,
    );
    const first = chunks[0] ? await readSpec(outputPaths(chunks[0].outputFile).spec) : null;
    if (first) {
      const { row_range: _r, ...generation } = first.generation as Record<string, unknown>;
      await writeSpec(merged.spec, { ...first, generation, created: new Date().toISOString() });
    }
    await writeFile(merged.done, "");
    await removeChunks(seed);
    log(`vlmpipe: merged ${chunks.length} chunks (${rows} rows) into ${seed.outputFile}`);
    return "merged";
  } finally {
    await lock.release();
  }
}

/**
 * Merges every seed whose chunks are all done, whatever became of the other jobs (stopped,
 * failed): NeMo-Skills merges a seed in the job of its last chunk. A finished seed left in chunks
 * would be refused by a rerun with another --num_chunks, or run again by one without chunks.
 */
export async function mergeFinishedSeeds(plan: EvalPlan, log: (l: string) => void = () => {}): Promise<void> {
  for (const b of plan.benchmarks) for (const s of b.seeds) if (s.chunks) await mergeChunks(s, log);
}

/**
 * Why a seed's chunks are not to be merged now, or undefined when they are: its output is there
 * already (done: its chunks are removed), or a chunk is not done.
 */
async function nothingToMerge(
  seed: SeedPlan,
  chunks: readonly { outputFile: string }[],
): Promise<MergeResult | undefined> {
  const merged = outputPaths(seed.outputFile);
  if ((await outputState(seed.outputFile)) !== "absent") {
    if (await exists(merged.done)) await removeChunks(seed);
    return (await exists(merged.done)) ? "complete" : "incomplete";
  }
  for (const c of chunks) if (!(await exists(outputPaths(c.outputFile).done))) return "incomplete";
  return undefined;
}

/**
 * The output's lock, waiting while another process holds it (its merge ends in seconds; a
 * holder that died is taken over once its lock is stale, as acquireOutputLock does).
 */
async function lockWaiting(output: string): Promise<OutputLock> {
  const giveUp = Date.now() + (staleSecondsFromEnv() + 30) * 1000;
  for (;;) {
    try {
      return await acquireOutputLock(output);
    } catch (e) {
      if (!(e instanceof UsageError) || Date.now() > giveUp) throw e;
      await sleep(250);
    }
  }
}

/** `files` one after the other into `to`, through a temporary file removed if anything fails. */
async function concatenate(files: string[], to: string): Promise<number> {
  const tmp = `${to}.tmp-merge-${process.pid}`;
  let rows = 0;
  try {
    const dst = await open(tmp, "w");
    try {
      for (const f of files) {
        const src = await open(f, "r");
        try {
          for await (const buf of src.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
            await dst.write(buf);
            for (const b of buf) if (b === 0x0a) rows++;
          }
        } finally {
          await src.close();
        }
      }
      await dst.sync();
    } finally {
      await dst.close();
    }
    await rename(tmp, to);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return rows;
}

/**
 * The chunks' `.row-digests` one after the other (line i = row i, as in the merged output);
 * none unless each chunk has one.
 */
async function mergeDigests(files: string[], to: string): Promise<void> {
  const parts: Buffer[] = [];
  for (const f of files) {
    if (!(await exists(f))) return rm(to, { force: true });
    parts.push(await readFile(f));
  }
  // Whole or not at all: a digests file cut short would refuse rows that are right.
  const tmp = `${to}.tmp-${process.pid}`;
  await writeFile(tmp, Buffer.concat(parts));
  await rename(tmp, to);
}

async function removeChunks(seed: SeedPlan): Promise<void> {
  for (const c of seed.chunks ?? []) {
    await removeOutputFiles(outputPaths(c.outputFile));
  }
}

/**
 * --overwrite on a chunked eval: the merged outputs go first, so an interrupted rerun is not
 * mistaken for the finished earlier one.
 */
export async function clearMergedForRerun(plan: EvalPlan): Promise<void> {
  if (!plan.settings.rerunDone) return;
  for (const b of plan.benchmarks) {
    for (const s of b.seeds) {
      if (!s.chunks) continue;
      await removeOutputFiles(outputPaths(s.outputFile));
    }
  }
}

export type FinishResult = {
  metrics: Metrics;
  /** Rows of the finished outputs that carry `error`. */
  failedRows: number;
  /** Benchmarks not summarized because a run or chunk is not done: `name: what is missing`. */
  incomplete: string[];
};

/**
 * The end of an eval: merges the chunks of every seed whose chunks are all done, then runs
 * summarize_results for each benchmark whose outputs are all complete (metrics.json beside
 * them, tables to `write`), in --benchmarks order.
 */
export async function finishEval(
  plan: EvalPlan,
  io: { log?: (l: string) => void; write?: (t: string) => void } = {},
): Promise<FinishResult> {
  const result: FinishResult = { metrics: {}, failedRows: 0, incomplete: [] };
  for (const b of plan.benchmarks) {
    const missing: string[] = [];
    for (const s of b.seeds) {
      const r = await mergeChunks(s, io.log);
      if (r === "incomplete") missing.push(path.basename(s.outputFile));
    }
    if (missing.length > 0) {
      result.incomplete.push(`${b.name}: ${missing.join(", ")} not done`);
      continue;
    }
    for (const s of b.seeds) result.failedRows += await countFailedRows(s.outputFile);
    Object.assign(
      result.metrics,
      await summarizeResults(b.dir, {
        saveMetricsPath: path.join(b.dir, "metrics.json"),
        maxSamples: maxSamplesOf(plan.settings.overrides),
        majorityByAnswer: majorityByAnswerOf(plan.settings.overrides),
        groupsOf: (name) => getBenchmark(name)?.metricGroups,
        write: io.write,
      }),
    );
    // The page to look at; the metrics stand even if it cannot be written.
    try {
      const report = await writeReport(b.dir, { dataDir: path.dirname(b.inputFile) });
      io.log?.(`vlmpipe: report: ${report}`);
    } catch (e) {
      io.log?.(`vlmpipe: warning: report.html not written: ${errorMessage(e)}`);
    }
  }
  return result;
}
