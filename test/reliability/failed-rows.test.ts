import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, type SimServerOptionsInput, startSimServer } from "../../src/server/sim/sim-server.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

let data: Awaited<ReturnType<typeof makeDataset>>;
const open: SimServer[] = [];
beforeAll(async () => {
  data = await makeDataset(await tempDir(), 30, { images: false });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function sim(opts: SimServerOptionsInput = {}) {
  const s = await startSimServer({ model: "sim", answer_rows: data.rows as never, ...opts });
  open.push(s);
  return s;
}
const gen = (out: string, url: string, extra: string[] = []) => [
  "generate",
  "--input_file",
  data.file,
  "--output_file",
  out,
  "--prompt_config",
  "vlm/mmmu-pro",
  "--model",
  "sim",
  "--server_address",
  `${url}/v1`,
  "--quiet",
  "++server.backoff_ms=1",
  "++server.max_backoff_ms=5",
  ...extra,
];

describe("failed rows", () => {
  it("are written with stage, code, message, attempts and last status, counted, and retried on the next run", async () => {
    const s = await sim({ fail_rate: 0.3, fail_status: 500, seed: 4 });
    const out = path.join(await tempDir(), "o.jsonl");
    const r1 = await cli(gen(out, s.url, ["++server.max_retries=0", "--max_concurrent_requests", "1"]));
    expect(r1.code).toBe(3);
    const first = parseLines(await readFile(out, "utf8"));
    const failed = first.filter((x) => x.error);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]?.error).toEqual({
      stage: "generate",
      code: "VLM_E_HTTP",
      message: expect.stringMatching(/^HTTP 500: Simulated failure/),
      attempts: 1,
      status: 500,
    });
    expect(r1.stderr).toMatch(new RegExp(`, ${failed.length} failed \\(VLM_E_HTTP x${failed.length}\\)`));

    s.setFaults({ fail_rate: 0 });
    const before = s.stats.chat;
    const r2 = await cli(gen(out, s.url));
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(/has failed rows: trying them again/);
    expect(s.stats.chat - before).toBe(failed.length);
    const second = parseLines(await readFile(out, "utf8"));
    expect(second).toHaveLength(30);
    expect(second.filter((x) => x.error)).toEqual([]);
    expect(second.map((x) => x.id)).toEqual(data.rows.map((x) => x.id));
  });

  it("stop the run cleanly after --max_failures in a row, leaving a resumable partial file", async () => {
    const s = await sim({ fail_rate: 1, fail_status: 500 });
    const out = path.join(await tempDir(), "o.jsonl");
    const r = await cli(
      gen(out, s.url, ["--max_failures", "5", "--max_concurrent_requests", "1", "++server.max_retries=0"]),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/5 rows failed in a row \(last: HTTP 500: Simulated failure.*\); stopping/);
    // One request at a time: the fifth failure stops the run, and no row read ahead is sent after it.
    expect(s.stats.chat).toBe(5);
    const partial = parseLines(await readFile(`${out}-async`, "utf8"));
    expect(partial).toHaveLength(5);
    s.setFaults({ fail_rate: 0 });
    const again = await cli(gen(out, s.url));
    expect(again.code, again.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8"))).toHaveLength(30);
  });
});
