import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readDataRows } from "../../src/cluster/eval-inputs.js";
import { runEval } from "../../src/cluster/eval-run.js";
import { finishEval, mergeChunks } from "../../src/cluster/merge.js";
import { findJob, pendingJobs, planEval } from "../../src/cluster/plan.js";
import { runJob } from "../../src/cluster/run-job.js";
import type { EvalSettings } from "../../src/cluster/settings.js";
import { startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot } from "../helpers/bin.js";
import { parseLines, tempDir } from "../helpers/dataset.js";

const data = path.join(repoRoot, "fixtures", "data");
const sim = { sim_accuracy: 0.7, sim_latency_ms: 0, sim_seed: 0 };

function settings(outputDir: string, over: Partial<EvalSettings> = {}): EvalSettings {
  return {
    benchmarks: "mmmu-pro:2",
    model: "sim",
    dataDir: data,
    outputDir,
    maxConcurrentRequests: 8,
    overrides: { max_samples: 10 },
    numChunks: 3,
    rerunDone: false,
    server: { kind: "sim", sim },
    progressSeconds: 0,
    ...over,
  };
}

/** Output rows without the fields that record when they ran. */
async function rowsOf(file: string): Promise<Record<string, unknown>[]> {
  return parseLines(await readFile(file, "utf8")).map((r) => {
    const { generation_start_time: _a, generation_end_time: _b, generation_time: _c, ...rest } = r;
    return rest;
  });
}

function evalIn(outputDir: string, over: Partial<Parameters<typeof runEval>[0]> = {}) {
  return runEval({
    benchmarks: "mmmu-pro:2",
    model: "sim",
    dataDir: data,
    outputDir,
    server: { kind: "sim", sim },
    maxConcurrentRequests: 8,
    overrides: { max_samples: 10 },
    log: () => {},
    ...over,
  });
}

describe("the plan of an eval", () => {
  it("makes K chunk jobs per seed of the first max_samples rows, named as NeMo-Skills names them", async () => {
    const out = await tempDir();
    const plan = await planEval(settings(out));
    const [b] = plan.benchmarks;
    expect(b!.rows).toBe(10);
    const jobs = b!.seeds.flatMap((s) => s.chunks!);
    expect(jobs.map((j) => [j.key, j.chunk!.start, j.chunk!.end])).toEqual([
      ["mmmu-pro/output-rs0_chunk_0", 0, 4],
      ["mmmu-pro/output-rs0_chunk_1", 4, 7],
      ["mmmu-pro/output-rs0_chunk_2", 7, 10],
      ["mmmu-pro/output-rs1_chunk_0", 0, 4],
      ["mmmu-pro/output-rs1_chunk_1", 4, 7],
      ["mmmu-pro/output-rs1_chunk_2", 7, 10],
    ]);
    expect(jobs[1]!.outputFile).toBe(path.join(out, "eval-results", "mmmu-pro", "output-rs0_chunk_1.jsonl"));
    expect(jobs[1]!.logFile).toBe(path.join(out, "eval-logs", "mmmu-pro-output-rs0_chunk_1.log"));
    expect(b!.seeds[0]!.whole.outputFile).toBe(path.join(out, "eval-results", "mmmu-pro", "output-rs0.jsonl"));
    expect(findJob(plan, "mmmu-pro", 1, 2).key).toBe("mmmu-pro/output-rs1_chunk_2");
    expect(findJob(plan, "mmmu-pro", 0, null).key).toBe("mmmu-pro/output-rs0");
    expect(() => findJob(plan, "mmmu-pro", 5, 0)).toThrow(/has no seed 5/);
    expect(() => findJob(plan, "mmmu-pro", 0, 3)).toThrow(/has no chunk 3/);
    expect(() => findJob(plan, "mmmu-pro-standard-10", 0, 0)).toThrow(/no benchmark mmmu-pro-standard-10/);
    const greedy = await planEval(settings(out, { benchmarks: "mmmu-pro", numChunks: 1 }));
    expect(greedy.benchmarks[0]!.seeds[0]!.chunks).toBeNull();
  });

  it("leaves out empty chunks when there are more chunks than rows", async () => {
    const plan = await planEval(settings(await tempDir(), { benchmarks: "mmmu-pro", overrides: { max_samples: 2 } }));
    expect(plan.benchmarks[0]!.seeds[0]!.chunks!.map((j) => j.chunk!.index)).toEqual([0, 1]);
  });

  it("plans a huge --num_chunks without making a chunk per number: one job per row, the same as a smaller K past the rows", async () => {
    const out = await tempDir();
    const over = { benchmarks: "mmmu-pro", overrides: { max_samples: 3 } };
    const huge = await planEval(settings(out, { ...over, numChunks: 2 ** 32 }));
    const chunks = huge.benchmarks[0]!.seeds[0]!.chunks!;
    expect(chunks.map((j) => [j.key, j.chunk!.start, j.chunk!.end, j.chunk!.count])).toEqual([
      ["mmmu-pro/output_chunk_0", 0, 1, 2 ** 32],
      ["mmmu-pro/output_chunk_1", 1, 2, 2 ** 32],
      ["mmmu-pro/output_chunk_2", 2, 3, 2 ** 32],
    ]);
    const billion = await planEval(settings(out, { ...over, numChunks: 1e9 }));
    expect(billion.benchmarks[0]!.seeds[0]!.chunks!.map((j) => j.key)).toEqual(chunks.map((j) => j.key));
  });

  it("takes ++max_samples=0 (or below) as every row of the benchmark", async () => {
    for (const max_samples of [0, -1]) {
      const plan = await planEval(settings(await tempDir(), { benchmarks: "mmmu-pro", overrides: { max_samples } }));
      expect(plan.benchmarks[0]!.rows).toBe(60);
      expect(plan.benchmarks[0]!.seeds[0]!.chunks!.map((j) => [j.chunk!.start, j.chunk!.end])).toEqual([
        [0, 20],
        [20, 40],
        [40, 60],
      ]);
    }
  });
});

describe("other outputs in a benchmark's folder", () => {
  it("refuses, before any job, a seed of another run that summarize_results would average in", async () => {
    const out = await tempDir();
    const other = { kind: "sim" as const, sim: { ...sim, sim_accuracy: 0.1 } };
    await evalIn(out, { benchmarks: "mmmu-pro:3", server: other });
    // --overwrite rewrites rs0 and rs1 only: rs2 of the other run stays.
    const s = settings(out, { numChunks: 1, rerunDone: true });
    await expect(pendingJobs(await planEval(s))).rejects.toThrow(
      /output-rs2\.jsonl is not of this eval's run:\n {2}simulator\.accuracy: was 0\.1, now 0\.7\n.*averages every output-rs\*\.jsonl/,
    );
    const logs: string[] = [];
    await expect(evalIn(out, { rerunDone: true, log: (l) => logs.push(l) })).rejects.toThrow(/output-rs2\.jsonl/);
    expect(logs.join("\n")).not.toMatch(/vlmpipe eval:/); // no job ran
  });

  it("averages in the seeds of the same run, as NeMo-Skills' summarize_results does", async () => {
    const out = await tempDir();
    await evalIn(out, { benchmarks: "mmmu-pro:3" });
    const r = await evalIn(out);
    expect(Object.keys(r.metrics["mmmu-pro"]!)).toContain("pass@1[avg-of-3]");
  });

  it("refuses a greedy output.jsonl beside a seeded eval's outputs (and the reverse) before any job", async () => {
    const out = await tempDir();
    await evalIn(out, { benchmarks: "mmmu-pro" });
    await expect(pendingJobs(await planEval(settings(out, { numChunks: 1 })))).rejects.toThrow(
      /holds output\.jsonl of a greedy run: .*summarize_results cannot tell which run to summarize/,
    );
    const seeded = await tempDir();
    await evalIn(seeded, { benchmarks: "mmmu-pro:2" });
    await expect(pendingJobs(await planEval(settings(seeded, { benchmarks: "mmmu-pro" })))).rejects.toThrow(
      /holds output-rs0\.jsonl, output-rs1\.jsonl of a sampled run/,
    );
  });
});

describe("chunked runs", () => {
  it("merge into outputs line for line equal to an unchunked run's, with the same metrics", async () => {
    const chunked = await tempDir();
    const plain = await tempDir();
    const a = await evalIn(chunked, { numChunks: 3, maxParallelJobs: 3 });
    const b = await evalIn(plain);
    for (const f of ["output-rs0.jsonl", "output-rs1.jsonl"]) {
      expect(await rowsOf(path.join(chunked, "eval-results", "mmmu-pro", f))).toEqual(
        await rowsOf(path.join(plain, "eval-results", "mmmu-pro", f)),
      );
    }
    const strip = (m: unknown) => JSON.parse(JSON.stringify(m, (k, v) => (k === "gen_seconds" ? undefined : v)));
    expect(strip(a.metrics)).toEqual(strip(b.metrics));
    expect(a.metrics["mmmu-pro"]!["pass@1[avg-of-2]"]!.num_entries).toBe(10);
    // The chunk files are gone once merged; the merged spec is an unchunked run's.
    const files = (await readdir(path.join(chunked, "eval-results", "mmmu-pro"))).sort();
    expect(files).toEqual([
      "metrics.json",
      "output-rs0.jsonl",
      "output-rs0.jsonl.done",
      "output-rs0.jsonl.row-digests",
      "output-rs0.jsonl.spec.json",
      "output-rs1.jsonl",
      "output-rs1.jsonl.done",
      "output-rs1.jsonl.row-digests",
      "output-rs1.jsonl.spec.json",
      "report.html",
    ]);
    const spec = JSON.parse(
      await readFile(path.join(chunked, "eval-results", "mmmu-pro", "output-rs0.jsonl.spec.json"), "utf8"),
    );
    const plainSpec = JSON.parse(
      await readFile(path.join(plain, "eval-results", "mmmu-pro", "output-rs0.jsonl.spec.json"), "utf8"),
    );
    expect(spec.generation).toEqual(plainSpec.generation);
    expect(spec.generation.row_range).toBeUndefined();
  });

  it("skips finished chunks, refuses chunks of another chunking, and redoes everything with --overwrite", async () => {
    const out = await tempDir();
    const s = settings(out);
    const plan = await planEval(s);
    const rows = await readDataRows(plan.benchmarks[0]!.inputFile);
    const server = await startSimServer({ model: "sim", answer_rows: rows as never, accuracy: 0.7 });
    try {
      const job = findJob(plan, "mmmu-pro", 0, 1);
      const r = await runJob(plan, job, { serverAddresses: [`${server.url}/v1`], log: () => {} });
      expect(r).toMatchObject({ complete: true, interrupted: false, failedRows: 0 });
      const lines = parseLines(await readFile(job.outputFile, "utf8"));
      expect(lines.map((l) => l.id)).toEqual(rows.slice(4, 7).map((x) => x.id));
      const spec = JSON.parse(await readFile(`${job.outputFile}.spec.json`, "utf8"));
      expect(spec.generation.row_range).toEqual([4, 7]);

      const p = await pendingJobs(plan);
      expect(p.skipped.map((j) => j.key)).toEqual(["mmmu-pro/output-rs0_chunk_1"]);
      expect(p.pending).toHaveLength(5);
      // Not every chunk is done: nothing to merge, no metrics.
      expect(await mergeChunks(plan.benchmarks[0]!.seeds[0]!)).toBe("incomplete");
      expect((await finishEval(plan)).incomplete).toEqual(["mmmu-pro: output-rs0.jsonl, output-rs1.jsonl not done"]);

      // Another --num_chunks would put other rows into output-rs0_chunk_1.jsonl.
      await expect(pendingJobs(await planEval({ ...s, numChunks: 2 }))).rejects.toThrow(
        /output-rs0_chunk_1\.jsonl holds rows 4-7, but with --num_chunks 2 chunk 1 is rows 5-10: .*--overwrite/,
      );
      expect((await pendingJobs(await planEval({ ...s, rerunDone: true }))).pending).toHaveLength(6);
    } finally {
      await server.close();
    }
  });

  it("merges the seeds whose chunks are all done when the eval is stopped, so another --num_chunks can skip them", async () => {
    const out = await tempDir();
    const stop = new AbortController();
    const r = await evalIn(out, {
      numChunks: 2,
      stop: stop.signal,
      log: (l) => {
        if (l.includes("mmmu-pro rs1 chunk 0/2")) stop.abort();
      },
    });
    expect(r.interrupted).toBe(true);
    const dir = path.join(out, "eval-results", "mmmu-pro");
    const rs0 = parseLines(await readFile(path.join(dir, "output-rs0.jsonl"), "utf8"));
    expect(rs0).toHaveLength(10);
    const files = await readdir(dir);
    expect(files).toContain("output-rs0.jsonl.done");
    expect(files.filter((f) => f.startsWith("output-rs0_chunk_"))).toEqual([]);
    expect(files).not.toContain("output-rs1.jsonl");
    // rs0 is finished whatever the chunking; rs1 has not begun, so another --num_chunks is no conflict.
    const p = await pendingJobs(await planEval(settings(out, { numChunks: 3 })));
    expect(p.skipped.map((j) => j.key)).toEqual([
      "mmmu-pro/output-rs0_chunk_0",
      "mmmu-pro/output-rs0_chunk_1",
      "mmmu-pro/output-rs0_chunk_2",
    ]);
    expect(p.pending.map((j) => j.key)).toEqual([
      "mmmu-pro/output-rs1_chunk_0",
      "mmmu-pro/output-rs1_chunk_1",
      "mmmu-pro/output-rs1_chunk_2",
    ]);
  });

  it("merges a seed's chunks once when two processes finish at once: digests whole, no temporary left", async () => {
    const out = await tempDir();
    const plan = await planEval(settings(out));
    const rows = await readDataRows(plan.benchmarks[0]!.inputFile);
    const server = await startSimServer({ model: "sim", answer_rows: rows as never, accuracy: 0.7 });
    const seed = plan.benchmarks[0]!.seeds[0]!;
    try {
      for (const job of seed.chunks!) {
        const r = await runJob(plan, job, { serverAddresses: [`${server.url}/v1`], log: () => {} });
        expect(r.complete).toBe(true);
      }
    } finally {
      await server.close();
    }
    const results = await Promise.all([mergeChunks(seed), mergeChunks(seed)]);
    expect(results.sort()).toEqual(["complete", "merged"]);
    const lines = parseLines(await readFile(seed.outputFile, "utf8"));
    expect(lines).toHaveLength(10); // settings(): ++max_samples=10
    expect(lines.map((l) => l.id)).toEqual(rows.slice(0, 10).map((x) => x.id));
    const digests = (await readFile(`${seed.outputFile}.row-digests`, "utf8")).trim().split("\n");
    expect(digests).toHaveLength(10);
    const dir = path.dirname(seed.outputFile);
    expect((await readdir(dir)).filter((f) => /tmp|_chunk_|\.lock$/.test(f))).toEqual([]);
  });

  it("retries the failed rows of a merged output in one whole job, and resumes a partial unchunked run as it is", async () => {
    const out = await tempDir();
    await evalIn(out, { numChunks: 3 });
    const file = path.join(out, "eval-results", "mmmu-pro", "output-rs1.jsonl");
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    const broken = JSON.parse(lines[5]!) as Record<string, unknown>;
    const good = { ...broken };
    broken.error = { stage: "generate", code: "VLM_E_HTTP", message: "HTTP 500" };
    lines[5] = JSON.stringify(broken);
    await writeFile(file, `${lines.join("\n")}\n`);

    const plan = await planEval(settings(out));
    const p = await pendingJobs(plan);
    expect(p.pending.map((j) => j.key)).toEqual(["mmmu-pro/output-rs1"]);
    expect(p.notes.join("\n")).toMatch(/output-rs1\.jsonl of mmmu-pro has failed rows: retrying them in one job/);

    const logs: string[] = [];
    const r = await evalIn(out, { numChunks: 3, log: (l) => logs.push(l) });
    expect(r.failedRows).toBe(0);
    const fixed = parseLines(await readFile(file, "utf8"));
    expect(fixed).toHaveLength(10);
    const { generation_start_time: _a, generation_end_time: _b, generation_time: _c, ...want } = good;
    expect(fixed[5]).toMatchObject(want);
    expect(fixed[5]!.error).toBeUndefined();
    expect(logs.join("\n")).toMatch(/has failed rows: trying them again/);

    await writeFile(`${file.replace("rs1", "rs0")}-async`, "");
    const p2 = await pendingJobs(await planEval(settings(out)));
    expect(p2.notes.join("\n")).toMatch(
      /output-rs0\.jsonl of mmmu-pro is a partial run without chunks: resuming it as it is/,
    );
  });
});
