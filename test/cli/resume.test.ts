import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { spawnCli, waitExit } from "../helpers/bin.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

let sim: SimServer;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;
const N = 80;

beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, N);
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 0.6, latency_ms: 20 });
});
afterAll(() => sim.close());

const args = (out: string) => [
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
  `${sim.url}/v1`,
  "--max_concurrent_requests",
  "6",
  "--quiet",
  "--eval_type",
  "multichoice",
];

async function asyncLines(file: string): Promise<number> {
  try {
    return (await readFile(file, "utf8")).split("\n").length - 1;
  } catch {
    return 0;
  }
}

/** Waits until the partial file has at least n lines (or the process ended). */
async function untilLines(file: string, n: number, child: { exitCode: number | null }) {
  while (child.exitCode === null && (await asyncLines(file)) < n) await new Promise((r) => setTimeout(r, 5));
}

function strip(rows: Record<string, unknown>[]) {
  return rows.map(({ generation_start_time, generation_end_time, generation_time, ...rest }) => rest);
}

describe("resume", () => {
  it("after kill -9 at several points, ends with every row exactly once, as an uninterrupted run", async () => {
    const ref = path.join(dir, "ref", "output.jsonl");
    expect((await cli(args(ref))).code).toBe(0);
    const reference = strip(parseLines(await readFile(ref, "utf8")));

    const out = path.join(dir, "killed", "output.jsonl");
    let kills = 0;
    for (const at of [3, 15, 30, 44, 61]) {
      const child = spawnCli(args(out));
      const exit = waitExit(child);
      await untilLines(`${out}-async`, at, child);
      child.kill("SIGKILL");
      const r = await exit;
      if (r.signal === "SIGKILL") kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const partial = await asyncLines(`${out}-async`);
    expect(partial).toBeLessThan(N);
    const final = await waitExit(spawnCli(args(out)));
    expect(final.code, final.stderr).toBe(0);
    expect(final.stderr).toMatch(/resuming .*-async: \d+ rows done/);
    const rows = parseLines(await readFile(out, "utf8"));
    expect(rows.map((r) => r.id)).toEqual(data.rows.map((r) => r.id));
    expect(strip(rows)).toEqual(reference);
    await expect(stat(`${out}.done`)).resolves.toBeTruthy();
  });

  it("on SIGINT finishes the rows in flight, leaves a valid partial file, and exits 130", async () => {
    const out = path.join(dir, "sigint", "output.jsonl");
    const child = spawnCli(args(out));
    const exit = waitExit(child);
    await untilLines(`${out}-async`, 10, child);
    child.kill("SIGINT");
    const r = await exit;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/finishing the rows in flight/);
    const text = await readFile(`${out}-async`, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = parseLines(text);
    expect(new Set(lines.map((l) => l._async_position)).size).toBe(lines.length);
    expect(lines.length).toBeLessThan(N);
    // The in-order copy of the stopped run is gone with it; the async file is the record.
    expect((await readdir(path.dirname(out))).filter((f) => f.includes(".tmp-"))).toEqual([]);
    const again = await cli(args(out));
    expect(again.code, again.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8")).map((l) => l.id)).toEqual(data.rows.map((r) => r.id));
  });

  it("never finishes an output with a row missing below rows done (an earlier kill, then a smaller ++max_samples)", async () => {
    const out = path.join(dir, "gap", "output.jsonl");
    const child = spawnCli(args(out));
    const exit = waitExit(child);
    await untilLines(`${out}-async`, 45, child);
    child.kill("SIGINT");
    expect((await exit).code).toBe(130);
    // Rows 20-24 were in flight when the first run was killed: they have no line.
    const kept = (await readFile(`${out}-async`, "utf8"))
      .split("\n")
      .filter((l) => l && !(Number(JSON.parse(l)._async_position) >= 20 && Number(JSON.parse(l)._async_position) < 25));
    await writeFile(`${out}-async`, `${kept.join("\n")}\n`);
    const before = await readFile(`${out}-async`, "utf8");

    // Rows 0-14 are all done: a run of them alone would finish the output with row 25 on line 21.
    const capped = await cli([...args(out), "++max_samples=15"]);
    expect(capped.code).toBe(1);
    expect(capped.stderr).toContain("also holds rows past ++max_samples=15");
    expect(capped.stderr).toContain("row 21 before them has no line yet");
    await expect(stat(out)).rejects.toThrow();
    await expect(stat(`${out}.done`)).rejects.toThrow();
    expect(await readFile(`${out}-async`, "utf8")).toBe(before);

    const full = await cli(args(out));
    expect(full.code, full.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8")).map((r) => r.id)).toEqual(data.rows.map((r) => r.id));
  });
});
