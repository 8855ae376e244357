import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { mergeChunks } from "../../src/cluster/merge.js";
import { planEval } from "../../src/cluster/plan.js";
import { runJob } from "../../src/cluster/run-job.js";
import { startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot } from "../helpers/bin.js";
import { parseLines, tempDir } from "../helpers/dataset.js";

const data = path.join(repoRoot, "fixtures", "data");

describe("merging a seed's chunks", () => {
  it("removes what a merge killed half-way left, and each chunk's files, in-flight log included", async () => {
    const out = await tempDir();
    const sim = await startSimServer({ model: "m", answers: path.join(data, "mmmu-pro", "test.jsonl") });
    try {
      const plan = await planEval({
        benchmarks: "mmmu-pro",
        model: "m",
        dataDir: data,
        outputDir: out,
        maxConcurrentRequests: 8,
        overrides: {},
        numChunks: 3,
        rerunDone: false,
        server: { kind: "sim", sim: { sim_accuracy: 1, sim_latency_ms: 0, sim_seed: 0 } },
        progressSeconds: 0,
      });
      const seed = plan.benchmarks[0]!.seeds[0]!;
      for (const job of seed.chunks!) {
        const r = await runJob(plan, job, { serverAddresses: [`${sim.url}/v1`], log: () => {} });
        expect(r.complete).toBe(true);
      }
      // As a merge killed while writing its output, digests and spec leaves them, and a chunk
      // job killed after its `.done` leaves its in-flight log.
      const dir = path.dirname(seed.outputFile);
      const name = path.basename(seed.outputFile);
      for (const f of [`${name}.tmp-merge-99999`, `${name}.row-digests.tmp-99999`, `${name}.spec.json.tmp-99999`])
        await writeFile(path.join(dir, f), "{");
      await writeFile(`${seed.chunks![1]!.outputFile}.inflight`, '{"i":3,"x":1}\tstale\n');
      expect(await mergeChunks(seed)).toBe("merged");
      const rows = parseLines(await readFile(seed.outputFile, "utf8"));
      expect(rows.map((r) => r.id)).toEqual(
        parseLines(await readFile(path.join(data, "mmmu-pro", "test.jsonl"), "utf8")).map((r) => r.id),
      );
      expect((await readdir(dir)).sort()).toEqual(
        [name, `${name}.done`, `${name}.row-digests`, `${name}.spec.json`].sort(),
      );
    } finally {
      await sim.close();
    }
  });
});
