import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InflightLog } from "../../src/output/inflight-log.js";
import { type SimServer, type SimServerOptionsInput, startSimServer } from "../../src/server/sim/sim-server.js";
import { spawnCli, waitExit } from "../helpers/bin.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

// Resume inside a generation (docs/resume-partial.md): long streamed answers killed with
// kill -9 at random points, or cut mid-stream by the server, end byte-identical to an
// uninterrupted run, continued from their saved text instead of decoded again.

const N = 24;
const TOKENS = 500;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;

const args = (out: string, url: string, extra: string[] = []) => [
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
  "--max_concurrent_requests",
  String(N),
  "--quiet",
  "--eval_type",
  "multichoice",
  "++resume_partial.min_tokens=50",
  "++server.backoff_ms=0",
  ...extra,
];
const TRANSIENT = [
  "generation_start_time",
  "generation_end_time",
  "generation_time",
  "attempts",
  "_continued_at_tokens",
  "_continuation_restarted",
];
const strip = (rows: Record<string, unknown>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TRANSIENT.includes(k))));
/** Usage counts a continued row has not (its last prompt held the saved text): left out of both sides for it. */
const USAGE_COUNTS = ["num_input_tokens", "num_reasoning_tokens", "num_answer_tokens"];
const paired = (rows: Record<string, unknown>[], ref: Record<string, unknown>[]) => {
  const drop = (r: Record<string, unknown> | undefined, continued: boolean) =>
    r && continued ? Object.fromEntries(Object.entries(r).filter(([k]) => !USAGE_COUNTS.includes(k))) : r;
  const cont = rows.map((r) => Array.isArray(r._continued_at_tokens) || r._continuation_restarted === true);
  for (const [i, r] of rows.entries()) if (!cont[i]) expect(r.num_input_tokens, `row ${i}`).toBeTypeOf("number");
  return [strip(rows.map((r, i) => drop(r, cont[i]!)!)), strip(ref.map((r, i) => drop(r, cont[i] ?? false)!))];
};

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function doneRows(asyncFile: string): Promise<Set<number>> {
  const text = await readFile(asyncFile, "utf8").catch(() => "");
  const done = new Set<number>();
  for (const line of text.split("\n")) {
    try {
      const j = JSON.parse(line) as { _async_position: number; error?: unknown };
      if (j.error == null) done.add(j._async_position);
    } catch {
      // a torn last line
    }
  }
  return done;
}

/** The saved answers in a log, read from a copy (opening a log rewrites it). */
async function savedIn(file: string): Promise<Map<number, number>> {
  const copy = `${file}.copy`;
  const saved = new Map<number, number>();
  if (
    !(await copyFile(file, copy).then(
      () => true,
      () => false,
    ))
  )
    return saved;
  const log = await InflightLog.open(copy);
  for (let i = 0; i < N; i++) {
    const s = log.take(i);
    if (s) saved.set(i, s.tokens);
  }
  await log.close();
  await rm(copy, { force: true });
  return saved;
}

async function reference(sim: Partial<SimServerOptionsInput>, name: string) {
  const s = await startSimServer({ model: "sim", answer_rows: data.rows as never, ...sim, token_delay_ms: 0 });
  try {
    const out = path.join(dir, name, "output.jsonl");
    const r = await cli(args(out, s.url));
    expect(r.code, r.stderr).toBe(0);
    return parseLines(await readFile(out, "utf8"));
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, N, { images: false });
});

describe("resume inside a generation", () => {
  let sim: SimServer;
  let ref: Record<string, unknown>[];
  beforeAll(async () => {
    ref = await reference({ answer_tokens: TOKENS }, "ref");
    expect(ref.every((r) => r.num_generated_tokens === TOKENS)).toBe(true);
    sim = await startSimServer({
      model: "sim",
      answer_rows: data.rows as never,
      answer_tokens: TOKENS,
      token_delay_ms: 30,
    });
  });
  afterAll(() => sim?.close());

  it("ends byte-identical after kill -9s, continuing rows saved past min_tokens, streaming < 1.35x the answers", async () => {
    const random = rng(20261207);
    let continued = 0;
    for (const kills of [2, 4]) {
      const out = path.join(dir, `kill-${kills}`, "output.jsonl");
      const log = `${out}.inflight`;
      const tokensBefore = sim.stats.tokensStreamed;
      const expectedContinuations: [number, number][] = [];
      let killed = 0;
      for (let round = 0; ; round++) {
        if (round > 30) throw new Error("no progress");
        const doneBefore = await doneRows(`${out}-async`);
        const child = spawnCli(args(out, sim.url));
        const exit = waitExit(child);
        if (killed < kills) {
          // Once the run streams (start-up takes a while on a loaded machine), 2-4 s later.
          while (child.exitCode === null && sim.stats.inFlight < N / 2) await new Promise((r) => setTimeout(r, 20));
          await new Promise((r) => setTimeout(r, 2000 + random() * 2000));
          child.kill("SIGKILL");
        }
        const r = await exit;
        if (r.signal !== "SIGKILL") {
          expect(r.code, r.stderr).toBe(0);
          break;
        }
        killed++;
        const saved = await savedIn(log);
        // A finished row never keeps saved text past the next start (the log is compacted then).
        for (const i of doneBefore) expect(saved.has(i)).toBe(false);
        const done = await doneRows(`${out}-async`);
        for (const [i, t] of saved) if (!done.has(i) && t >= 50) expectedContinuations.push([i, t]);
      }
      const rows = parseLines(await readFile(out, "utf8"));
      const [got, want] = paired(rows, ref);
      expect(got).toEqual(want);
      continued += expectedContinuations.length;
      for (const [i, t] of expectedContinuations) expect(rows[i]!._continued_at_tokens).toContain(t);
      const streamed = sim.stats.tokensStreamed - tokensBefore;
      console.log(
        `kill -9 x${kills}: ${streamed} tokens streamed for ${N * TOKENS} (${(streamed / (N * TOKENS)).toFixed(3)}x)`,
      );
      expect(streamed).toBeLessThan(1.35 * N * TOKENS);
      // The run finished: no saved text is left.
      await expect(stat(log)).rejects.toThrow();
    }
    // Kills land 2-4 s into a run: past min_tokens (50 tokens = 1.5 s) and a save.
    expect(continued).toBeGreaterThan(0);
  }, 300_000);

  it("saves everything streamed so far at a clean stop (Ctrl-C twice)", async () => {
    const out = path.join(dir, "ctrl-c", "output.jsonl");
    const before = sim.stats.tokensStreamed;
    const child = spawnCli(args(out, sim.url));
    const exit = waitExit(child);
    while (child.exitCode === null && sim.stats.inFlight < N) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 2500));
    child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGINT");
    const r = await exit;
    expect(r.code, r.stderr).toBe(130);
    // Let the simulator count the cut streams.
    while (sim.stats.inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    const streamed = sim.stats.tokensStreamed - before;
    const saved = [...(await savedIn(`${out}.inflight`)).values()].reduce((a, b) => a + b, 0);
    // Saves every half second would miss ~8 tokens a row on average; the final save misses only
    // what was still in the sockets when the requests were aborted.
    expect(saved).toBeLessThanOrEqual(streamed);
    expect(saved).toBeGreaterThan(streamed - N * 4);
  }, 120_000);

  it("ignores saved text of a row whose request changed", async () => {
    const out = path.join(dir, "changed", "output.jsonl");
    const child = spawnCli(args(out, sim.url));
    const exit = waitExit(child);
    let saved = new Map<number, number>();
    while (child.exitCode === null && saved.size < 3) {
      await new Promise((r) => setTimeout(r, 200));
      saved = await savedIn(`${out}.inflight`);
    }
    child.kill("SIGKILL");
    await exit;
    const [changed] = [...saved.keys()];
    // The same file, one row's question changed: its saved text belongs to another request.
    const rows = data.rows.map((r, i) => (i === changed ? { ...r, problem: `${String(r.problem)} (revised)` } : r));
    const input = path.join(dir, "changed", "input.jsonl");
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const a = args(out, sim.url);
    a[a.indexOf(data.file)] = input;
    const fast = await startSimServer({ model: "sim", answer_rows: data.rows as never, answer_tokens: TOKENS });
    try {
      a[a.indexOf(`${sim.url}/v1`)] = `${fast.url}/v1`;
      const r = await cli(a);
      expect(r.code, r.stderr).toBe(0);
      const got = parseLines(await readFile(out, "utf8"));
      expect(got[changed!]!._continued_at_tokens).toBeUndefined();
      expect(got[changed!]!.problem).toMatch(/revised/);
      expect(got[changed!]!.num_generated_tokens).toBe(TOKENS);
      // The other saved rows did continue.
      expect(got.filter((g) => g._continued_at_tokens).length).toBeGreaterThan(0);
    } finally {
      await fast.close();
    }
  }, 120_000);
});

describe.each([
  ["plain answers", "none"],
  ["reasoning from a server-side parser", "field"],
  ["raw <think> text", "think"],
] as const)("a stream dropped mid-answer within one run (%s)", (_name, reasoning) => {
  it("continues from the text it had, byte-identical to an uninterrupted answer", async () => {
    const ref = await reference({ answer_tokens: 300, reasoning }, `ref-${reasoning}`);
    const sim = await startSimServer({
      model: "sim",
      answer_rows: data.rows as never,
      answer_tokens: 300,
      reasoning,
      drop_mid_stream_rate: 0.5,
      drop_at_token: 120,
    });
    try {
      const out = path.join(dir, `drop-${reasoning}`, "output.jsonl");
      const r = await cli(args(out, sim.url));
      expect(r.code, r.stderr).toBe(0);
      const rows = parseLines(await readFile(out, "utf8"));
      const [got, want] = paired(rows, ref);
      expect(got).toEqual(want);
      expect(sim.stats.continued).toBeGreaterThan(0);
      expect(rows.filter((x) => Array.isArray(x._continued_at_tokens)).length).toBeGreaterThan(0);
      // Within the run a dropped answer streams on from where it stopped: < 1.35x in all.
      expect(sim.stats.tokensStreamed).toBeLessThan(
        1.35 * rows.reduce((n, x) => n + (x.num_generated_tokens as number), 0),
      );
      await expect(stat(`${out}.inflight`)).rejects.toThrow();
    } finally {
      await sim.close();
    }
  }, 120_000);
});

describe("a server that refuses continue_final_message", () => {
  it("restarts that row once from scratch, records it, and sends no more continuations", async () => {
    const ref = await reference({ answer_tokens: 300 }, "ref-refuse");
    const sim = await startSimServer({
      model: "sim",
      answer_rows: data.rows as never,
      answer_tokens: 300,
      reject_continuation: true,
      drop_mid_stream_rate: 0.3,
      drop_at_token: 120,
    });
    try {
      const out = path.join(dir, "refuse", "output.jsonl");
      const r = await cli(args(out, sim.url, ["++server.max_retries=20"]));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/refused continue_final_message/);
      const rows = parseLines(await readFile(out, "utf8"));
      const [got, want] = paired(rows, ref);
      expect(got).toEqual(want);
      expect(rows.filter((x) => x._continuation_restarted === true).length).toBeGreaterThan(0);
      expect(rows.filter((x) => x._continued_at_tokens !== undefined).length).toBe(0);
      // Concurrent rows may each try once before the first refusal is known; never more.
      const restarted = rows.filter((x) => x._continuation_restarted === true).length;
      expect(sim.stats.rejected).toBe(restarted);
    } finally {
      await sim.close();
    }
  }, 120_000);
});

describe("the in-flight log of a finished output", () => {
  it("is gone before the output's .done is written, so a kill right then leaves none beside a finished output", async () => {
    const sim = await startSimServer({
      model: "sim",
      answer_rows: data.rows as never,
      answer_tokens: 100,
      token_delay_ms: 10,
    });
    try {
      const out = path.join(dir, "kill-at-done", "output.jsonl");
      const log = `${out}.inflight`;
      await mkdir(path.dirname(out), { recursive: true });
      // `.done` as a FIFO: the run blocks opening it to write, right where a kill after the
      // output is in place would land, and the files beside it are looked at then.
      execFileSync("mkfifo", [`${out}.done`]);
      const child = spawnCli(args(out, sim.url, ["--max_concurrent_requests", "8"]));
      const exit = waitExit(child);
      let saved = false;
      while (!existsSync(out)) {
        saved ||= existsSync(log);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(saved).toBe(true); // answers were in flight long enough to be saved
      expect(existsSync(log)).toBe(false);
      child.kill("SIGKILL");
      expect((await exit).signal).toBe("SIGKILL");
      await rm(`${out}.done`);
      const r = await cli(args(out, sim.url));
      expect(r.code, r.stderr).toBe(0);
      expect(parseLines(await readFile(out, "utf8"))).toHaveLength(N);
      expect(existsSync(log)).toBe(false);
    } finally {
      await sim.close();
    }
  });

  it("is removed when a rerun finds the output complete (as a kill after .done left it)", async () => {
    const out = path.join(dir, "stale-inflight", "output.jsonl");
    const sim = await startSimServer({ model: "sim", answer_rows: data.rows as never });
    try {
      expect((await cli(args(out, sim.url))).code).toBe(0);
      await writeFile(`${out}.inflight`, '{"i":3,"x":1}\tstale\n');
      const r = await cli(args(out, sim.url));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/already complete/);
      expect(existsSync(`${out}.inflight`)).toBe(false);
    } finally {
      await sim.close();
    }
  });
});
