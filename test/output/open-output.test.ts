import { appendFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectOutput } from "../../src/output/open-output.js";
import { readSpec } from "../../src/output/run-spec.js";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { cli, makeDataset, tempDir } from "../helpers/dataset.js";

let sim: SimServer;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;

beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, 3, { images: false });
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never });
});
afterAll(() => sim.close());

describe("inspectOutput", () => {
  it("counts rows appended to the input as new work for max_samples 0 or below (every row), as for no limit", async () => {
    const out = path.join(dir, "out", "output.jsonl");
    const args = ["--prompt_config", "vlm/mmmu-pro", "--model", "sim", "--server_address", `${sim.url}/v1`];
    const r = await cli(["generate", "--input_file", data.file, "--output_file", out, ...args, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    await appendFile(data.file, `${JSON.stringify({ ...data.rows[0], id: "q3" })}\n`);
    const spec = (await readSpec(`${out}.spec.json`))!;
    const look = (maxSamples?: number) => inspectOutput({ outputFile: out, spec, inputFile: data.file, maxSamples });
    for (const maxSamples of [undefined, -1, 0]) {
      expect(await look(maxSamples), String(maxSamples)).toMatchObject({ state: "grown", rows: 3, appended: 1 });
    }
    expect(await look(3)).toMatchObject({ state: "complete", rows: 3, appended: 0 });
  });
});
