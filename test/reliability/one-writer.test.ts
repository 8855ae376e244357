import { spawnSync } from "node:child_process";
import { mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

// One writer per output: `<output>.lock` (O_EXCL; pid, host, start time; mtime = heartbeat).

const N = 8;
let sim: SimServer;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;

beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, N, { images: false });
  // Slow enough answers that two runs started together overlap.
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, latency_ms: 150, record_requests: true });
});
afterAll(() => sim.close());

const args = (out: string, url = sim.url) => [
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
  "4",
  "--quiet",
];
const LOCKED = /is being written by another vlmpipe \(pid \d+ on host \S+, since \d{4}-\d\d-\d\dT[\d:.]+Z\)/;

/** Requests per row index since `from` (the simulator's recorded bodies). */
function requestsPerRow(from: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const body of sim.requests.slice(from)) {
    const m = /Question number (\d+):/.exec(JSON.stringify(body));
    if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  }
  return counts;
}

function expectEachRowOnce(counts: Map<number, number>) {
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...Array(N).keys()]);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
}

/** A pid that was alive a moment ago and is not any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

async function writeLock(out: string, owner: { pid: number; host: string }, ageSeconds = 0) {
  const file = `${out}.lock`;
  await writeFile(
    file,
    `${JSON.stringify({ ...owner, started: "2026-01-02T03:04:05.000Z", token: `t-${owner.pid}-${ageSeconds}` })}\n`,
  );
  if (ageSeconds) {
    const t = new Date(Date.now() - ageSeconds * 1000);
    await utimes(file, t, t);
  }
}

const exists = (f: string) =>
  stat(f).then(
    () => true,
    () => false,
  );

describe("one writer per output", () => {
  it("two runs started together on one output: every row is requested once, one works, the other exits 2 (20 rounds)", async () => {
    let refused = 0;
    for (let round = 0; round < 20; round++) {
      const out = path.join(dir, `race-${round}`, "output.jsonl");
      const from = sim.requests.length;
      const a = spawnCli(args(out));
      const b = spawnCli(args(out));
      const [ra, rb] = await Promise.all([waitExit(a), waitExit(b)]);
      const results = [ra, rb];
      expectEachRowOnce(requestsPerRow(from));
      // Exactly one run sent rows; the other refused at once (or, if it started only after
      // the first had finished, found the output complete).
      const worked = results.filter((r) => /\d+ rows in .* -> /.test(r.stderr));
      expect(worked, results.map((r) => r.stderr).join("\n---\n")).toHaveLength(1);
      expect(worked[0]?.code).toBe(0);
      const other = results.find((r) => r !== worked[0]) as (typeof results)[number];
      if (other.code === 2) {
        expect(other.stderr).toMatch(LOCKED);
        refused++;
      } else {
        expect(other.code).toBe(0);
        expect(other.stderr).toMatch(/already complete/);
      }
      expect(parseLines(await readFile(out, "utf8")).map((r) => r.id)).toEqual(data.rows.map((r) => r.id));
      expect(await exists(`${out}.lock`)).toBe(false);
    }
    expect(refused).toBeGreaterThan(0);
  }, 900_000); // 40 CLI starts: minutes on a loaded 2-core machine

  it("a live run's lock (this host) is refused before any request, naming its pid, host and start time", async () => {
    const out = path.join(dir, "live", "output.jsonl");
    await mkdir(path.dirname(out), { recursive: true });
    await writeLock(out, { pid: process.pid, host: hostname() });
    const from = sim.requests.length;
    const r = await waitExit(spawnCli(args(out)));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `is being written by another vlmpipe (pid ${process.pid} on host ${hostname()}, since 2026-01-02T03:04:05.000Z)`,
    );
    expect(r.stderr).toContain(`delete ${out}.lock`);
    expect(sim.requests.length).toBe(from);
    expect(await exists(`${out}.lock`)).toBe(true); // not ours to remove
  });

  it("a lock whose process is gone (this host) is taken over at once", async () => {
    const out = path.join(dir, "dead", "output.jsonl");
    await mkdir(path.dirname(out), { recursive: true });
    const pid = deadPid();
    await writeLock(out, { pid, host: hostname() });
    const r = await waitExit(spawnCli(args(out)));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`taking over .*output\\.jsonl\\.lock \\(pid ${pid} on host .*\\): its process is gone`),
    );
    expect(await exists(`${out}.lock`)).toBe(false);
  });

  it("a lock whose taker was killed mid-takeover (its claim left behind) is still taken over at once", async () => {
    const out = path.join(dir, "dead-taker", "output.jsonl");
    await mkdir(path.dirname(out), { recursive: true });
    const pid = deadPid();
    await writeLock(out, { pid, host: hostname() });
    // The claim of a taker that died between claiming this lock and removing it.
    const claim = `${out}.lock.takeover-t-${pid}-0`;
    await writeFile(claim, `${JSON.stringify({ pid: deadPid(), host: hostname() })}\n`);
    const r = await waitExit(spawnCli(args(out)));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/taking over .*: its process is gone/);
    expect((await readdir(path.dirname(out))).filter((f) => f.includes(".lock"))).toEqual([]);
  });

  it("another host's lock: refused while its heartbeat is fresh, taken over once it is older than the limit", async () => {
    const out = path.join(dir, "remote", "output.jsonl");
    await mkdir(path.dirname(out), { recursive: true });
    await writeLock(out, { pid: 1, host: "some-other-node" });
    const fresh = await waitExit(spawnCli(args(out)));
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toMatch(/pid 1 on host some-other-node/);
    await writeLock(out, { pid: 1, host: "some-other-node" }, 600);
    const stale = await waitExit(spawnCli(args(out)));
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.stderr).toMatch(/taking over .*: no heartbeat for 60\ds \(limit 120s\)/);
    // The limit is set by VLMPIPE_LOCK_STALE_SECONDS.
    const out2 = path.join(dir, "remote2", "output.jsonl");
    await mkdir(path.dirname(out2), { recursive: true });
    await writeLock(out2, { pid: 1, host: "some-other-node" }, 30);
    const short = await waitExit(spawnCli(args(out2), { env: { VLMPIPE_LOCK_STALE_SECONDS: "10" } }));
    expect(short.code, short.stderr).toBe(0);
    expect(short.stderr).toMatch(/no heartbeat for 3\ds \(limit 10s\)/);
  });

  it("two runs taking over one stale lock: exactly one wins (6 rounds)", async () => {
    for (let round = 0; round < 6; round++) {
      const out = path.join(dir, `takeover-${round}`, "output.jsonl");
      await mkdir(path.dirname(out), { recursive: true });
      await writeLock(out, { pid: deadPid(), host: hostname() });
      const from = sim.requests.length;
      const [ra, rb] = await Promise.all([waitExit(spawnCli(args(out))), waitExit(spawnCli(args(out)))]);
      expectEachRowOnce(requestsPerRow(from));
      const worked = [ra, rb].filter((r) => /\d+ rows in .* -> /.test(r.stderr));
      expect(worked).toHaveLength(1);
      const other = ra === worked[0] ? rb : ra;
      expect(other.code === 2 ? LOCKED.test(other.stderr) : /already complete/.test(other.stderr), other.stderr).toBe(
        true,
      );
      expect((await readdir(path.dirname(out))).filter((f) => f.includes(".lock"))).toEqual([]);
    }
  }, 400_000);

  it("the lock is released on errors and on Ctrl-C; --output_file - takes none", async () => {
    // An unreachable server: exit 1, no lock left behind.
    const out = path.join(dir, "released", "output.jsonl");
    const err = await waitExit(spawnCli([...args(out, "http://127.0.0.1:9"), "++server.wait_timeout=0"]));
    expect(err.code).not.toBe(0);
    expect(await exists(`${out}.lock`)).toBe(false);
    // Ctrl-C mid-run: exit 130, no lock left behind, and the rerun resumes.
    const child = spawnCli(args(out));
    const exit = waitExit(child);
    while (!(await exists(`${out}-async`)) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    // While it runs, the lock names it.
    expect(JSON.parse(await readFile(`${out}.lock`, "utf8"))).toMatchObject({ pid: child.pid, host: hostname() });
    child.kill("SIGINT");
    const int = await exit;
    expect([0, 130]).toContain(int.code);
    expect(await exists(`${out}.lock`)).toBe(false);
    // Stdout: no lock file anywhere in the working folder.
    const cwd = await tempDir();
    const std = await waitExit(spawnCli(args("-"), { cwd }));
    expect(std.code).toBe(0);
    expect(await readdir(cwd)).toEqual([]);
  });

  it("an eval job refuses an output another run holds (exit 2, the lock message)", async () => {
    const outDir = await tempDir();
    const job = path.join(outDir, "eval-results", "mmmu-pro", "output.jsonl");
    await mkdir(path.dirname(job), { recursive: true });
    await writeLock(job, { pid: process.pid, host: hostname() });
    const r = await waitExit(
      spawnCli([
        "eval",
        "--benchmarks",
        "mmmu-pro",
        "--model",
        "sim",
        "--server_type",
        "sim",
        "--data_dir",
        path.join(repoRoot, "fixtures", "data"),
        "--output_dir",
        outDir,
        "--quiet",
      ]),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(LOCKED);
    expect(await exists(job)).toBe(false);
  });
});
