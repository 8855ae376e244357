import { appendFile, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { spawnCli, waitExit } from "../helpers/bin.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

// Exactly once under kill -9, as a property: for many kill points spread over whole runs
// (start-up, mid-run, the final reorder), with torn lines left by kills in the middle of a
// write, resuming always ends with the rows of an uninterrupted run, each exactly once.

const N = 120;
let sim: SimServer;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;
let reference: Record<string, unknown>[];

const args = (out: string, url = sim.url, concurrency = 8, input = data.file) => [
  "generate",
  "--input_file",
  input,
  "--output_file",
  out,
  "--prompt_config",
  "vlm/mmmu-pro",
  "--model",
  "sim",
  "--server_address",
  `${url}/v1`,
  "--max_concurrent_requests",
  String(concurrency),
  "--quiet",
  "--eval_type",
  "multichoice",
];
const strip = (rows: Record<string, unknown>[]) =>
  rows.map(
    ({ generation_start_time: _a, generation_end_time: _b, generation_time: _c, attempts: _d, ...rest }) => rest,
  );

/** mulberry32: the kill schedule is the same on every run of the test. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function lineCount(file: string): Promise<number> {
  try {
    const b = await readFile(file);
    let n = 0;
    for (const c of b) if (c === 10) n++;
    return n;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, N, { images: false });
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 0.5, latency_ms: 8 });
  const ref = path.join(dir, "ref.jsonl");
  expect((await cli(args(ref))).code).toBe(0);
  reference = strip(parseLines(await readFile(ref, "utf8")));
});
afterAll(() => sim.close());

async function expectComplete(out: string) {
  const rows = parseLines(await readFile(out, "utf8"));
  expect(rows.map((r) => r.id)).toEqual(data.rows.map((r) => r.id));
  expect(strip(rows)).toEqual(reference);
  await expect(stat(`${out}.done`)).resolves.toBeTruthy();
  expect((await readdir(path.dirname(out))).filter((f) => f.includes(".tmp-"))).toEqual([]);
}

describe("exactly once under kill -9", () => {
  it("holds for 50+ kill points over whole runs, torn lines included", async () => {
    const random = rng(20261126);
    let kills = 0;
    let torn = 0;
    let campaigns = 0;
    while (kills < 50) {
      campaigns++;
      const out = path.join(dir, `c${campaigns}`, "output.jsonl");
      for (let round = 0; ; round++) {
        const child = spawnCli(args(out));
        const exit = waitExit(child);
        // Every few rounds the kill waits for ten more lines, so a loaded machine (where a
        // random delay may end before start-up does) still makes progress.
        const mode = round % 6 === 5 ? -1 : random();
        if (mode < 0) {
          // (With every row written already, only the end is left: let that run finish, else a
          // machine where start-up outlasts every random delay never gets past the reorder.)
          const before = await lineCount(`${out}-async`);
          const target = before >= N ? Number.POSITIVE_INFINITY : Math.min(N, before + 10);
          while (child.exitCode === null && (await lineCount(`${out}-async`)) < target)
            await new Promise((r) => setTimeout(r, 2));
        } else if (mode < 0.5) {
          // mid-run: when the partial file reaches a random number of lines
          const target = Math.floor(random() * N);
          while (child.exitCode === null && (await lineCount(`${out}-async`)) < target)
            await new Promise((r) => setTimeout(r, 2));
        } else if (mode < 0.8) {
          // anywhere, start-up and the end included: after a random delay
          await new Promise((r) => setTimeout(r, random() * 1500));
        } else {
          // the end: as soon as every row is in the partial file (reorder and rename follow)
          while (child.exitCode === null && (await lineCount(`${out}-async`)) < N)
            await new Promise((r) => setTimeout(r, 1));
        }
        child.kill("SIGKILL");
        const r = await exit;
        if (r.signal !== "SIGKILL") {
          expect(r.code, r.stderr).toBe(0);
          break; // the run finished before the kill landed
        }
        kills++;
        // A kill in the middle of a write leaves part of a line behind.
        if (random() < 0.3 && (await lineCount(`${out}-async`)) > 0) {
          await appendFile(`${out}-async`, '{"id":"q7","problem":"Question number 7: which op');
          torn++;
        }
        if (round > 200) throw new Error("no progress");
      }
      await expectComplete(out);
    }
    expect(kills).toBeGreaterThanOrEqual(50);
    expect(torn).toBeGreaterThan(5);
    expect(campaigns).toBeGreaterThan(1);
  }, 300_000);

  it("refuses an input swapped or reordered between kills (exit 2), and finishes one extended between kills with every row once", async () => {
    const random = rng(20261207);
    const lines = data.rows.map((r) => JSON.stringify(r));
    const write = (file: string, rows: string[]) => writeFile(file, rows.join("\n") + "\n");
    /** Runs until killed after `n` more lines (or the run ends); returns the lines of the partial file. */
    const killAfter = async (out: string, input: string, n: number) => {
      const child = spawnCli(args(out, sim.url, 8, input));
      const exit = waitExit(child);
      const target = Math.min(N - 1, (await lineCount(`${out}-async`)) + n);
      while (child.exitCode === null && (await lineCount(`${out}-async`)) < target)
        await new Promise((r) => setTimeout(r, 2));
      child.kill("SIGKILL");
      await exit;
      return lineCount(`${out}-async`);
    };
    let refused = 0;
    let extended = 0;
    for (let campaign = 0; campaign < 6; campaign++) {
      const out = path.join(dir, `change-${campaign}`, "output.jsonl");
      const input = path.join(dir, `change-${campaign}.jsonl`);
      const kind = ["swapped", "reordered", "extended"][campaign % 3];
      await write(input, kind === "extended" ? lines.slice(0, 40 + Math.floor(random() * 40)) : lines);
      for (let kill = 0; kill < (kind === "extended" ? 1 : 3); kill++)
        await killAfter(out, input, 5 + Math.floor(random() * 20));
      // (A run may finish before a kill lands: the rules hold for a finished output too.)
      const finished = !!(await stat(`${out}.done`).catch(() => null));
      if (kind === "extended") {
        await write(input, lines);
        extended++;
        await killAfter(out, input, 5 + Math.floor(random() * 20));
      } else {
        // A done row's input changes: the whole input reversed, or one done row swapped with a later one.
        const done = finished
          ? lines.map((_, i) => i)
          : parseLines(await readFile(`${out}-async`, "utf8"))
              .filter((l) => !l.error)
              .map((l) => l._async_position as number);
        if (done.length === 0) continue;
        const changed = [...lines];
        if (kind === "swapped") changed.reverse();
        else {
          const p = done[Math.floor(random() * done.length)]!;
          const q = (p + 1 + Math.floor(random() * (N - p - 1))) % N;
          [changed[p], changed[q]] = [changed[q]!, changed[p]!];
        }
        await write(input, changed);
        const r = await cli(args(out, sim.url, 8, input));
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/line \d+ is not the row .* holds for it/);
        refused++;
        await write(input, lines); // put back: the same run resumes
      }
      const r = await cli(args(out, sim.url, 8, input));
      expect(r.code, r.stderr).toBe(0);
      await expectComplete(out);
    }
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(extended).toBeGreaterThanOrEqual(1);
  }, 300_000);

  it.each([
    ["the temporary output half written", "tmp"],
    ["the output renamed but no .done yet", "renamed"],
    ["the output and .done written but the partial file not yet removed", "done"],
  ])("recovers from a kill during the final reorder: %s", async (_name, state) => {
    const out = path.join(dir, `reorder-${state}`, "output.jsonl");
    // A complete partial file, as the reorder finds it.
    const child = spawnCli(args(out));
    const exit = waitExit(child);
    // (A run that ends between two looks has removed the partial file: stop waiting then.)
    while (child.exitCode === null && (await lineCount(`${out}-async`)) < N) await new Promise((r) => setTimeout(r, 1));
    child.kill("SIGKILL");
    await exit;
    if (await stat(`${out}.done`).catch(() => null)) return; // the run won the race: nothing to recover
    const partial = await readFile(`${out}-async`);
    if (state === "tmp") await writeFile(`${out}.tmp-99999`, partial.subarray(0, partial.length >> 1));
    if (state === "renamed" || state === "done") await copyFile(`${out}-async`, out);
    if (state === "done") await writeFile(`${out}.done`, "");
    const r = await cli(args(out));
    expect(r.code, r.stderr).toBe(0);
    await expectComplete(out);
    await expect(stat(`${out}-async`)).rejects.toThrow();
  });

  it("--overwrite removes the earlier output's spec last, so a kill half-way never leaves rows without their settings", async () => {
    const out = path.join(dir, "overwrite-order", "output.jsonl");
    expect((await cli(args(out))).code).toBe(0);
    // A file that cannot be removed stops the removal where a kill would: the spec must remain.
    await rm(`${out}.done`);
    await mkdir(`${out}.done`);
    const r = await cli([...args(out), "--overwrite"]);
    expect(r.code).not.toBe(0);
    await expect(stat(`${out}.spec.json`)).resolves.toBeTruthy();
    await expect(stat(out)).resolves.toBeTruthy();
  });

  it("stops at once on a second Ctrl-C, leaving a valid partial file", async () => {
    const slow = await startSimServer({ model: "sim", answer_rows: data.rows as never, latency_ms: 5000 });
    try {
      const out = path.join(dir, "double-int", "output.jsonl");
      const child = spawnCli(args(out, slow.url, 4));
      const exit = waitExit(child);
      while (slow.stats.inFlight < 4) await new Promise((r) => setTimeout(r, 10));
      child.kill("SIGINT");
      await new Promise((r) => setTimeout(r, 100));
      child.kill("SIGINT");
      const r = await exit;
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/stopping now/);
      const text = await readFile(`${out}-async`, "utf8").catch(() => "");
      expect(text === "" || text.endsWith("\n")).toBe(true);
      await rm(path.dirname(out), { recursive: true, force: true });
    } finally {
      await slow.close();
    }
  });
});
