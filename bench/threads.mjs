// Where a text-row run's CPU goes, by thread: vlmpipe's main thread, V8's platform threads
// (GC helpers, background compilation) and libuv's thread pool (file writes), next to the
// simulator's CPU over the same run. Thread CPU comes from /proc/<pid>/task/*/stat, sampled
// every 20 ms until the run exits (the last sample of each thread counts).
//
//   node bench/threads.mjs [rows=30000] [concurrency=64]

import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateArgs, round, startSimProc, statCpuSeconds } from "./lib.mjs";
import { writeRows } from "./throughput.mjs";

export async function benchThreads({ rows = 30_000, concurrency = 64 } = {}) {
  const dir = path.join(tmpdir(), `vlmpipe-bench-threads-${process.pid}`);
  await mkdir(dir, { recursive: true });
  // The throughput section's text rows.
  const input = await writeRows(path.join(dir, "in.jsonl"), rows, () => null);
  const sim = await startSimProc({ latency_ms: 0 });
  const window = sim.window(rows);
  const child = spawn(
    process.execPath,
    [...generateArgs({ input, output: path.join(dir, "out.jsonl"), url: sim.url, concurrency }), "--overwrite"],
    { stdio: "ignore" },
  );
  const threads = new Map();
  const timer = setInterval(() => sample(child.pid, threads), 20);
  await new Promise((r) => child.on("close", r));
  clearInterval(timer);
  const w = await window;
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
  const ms = (s) => round((1000 * s) / rows, 3);
  const main = threads.get(child.pid) ?? 0;
  const others = [...threads].filter(([tid]) => tid !== child.pid).map(([, s]) => s);
  const total = main + others.reduce((a, b) => a + b, 0);
  return {
    rows,
    concurrency,
    rows_per_s: round(rows / w.seconds, 0),
    ms_per_row: { main_thread: ms(main), other_threads: ms(total - main), simulator: ms(w.simCpuSeconds) },
    other_threads_ms_per_row: others.map(ms).filter((x) => x > 0),
    note: "start-up is in the vlmpipe figures, not in the simulator's (its window starts at the first request)",
  };
}

function sample(pid, threads) {
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // the process has just exited
  }
  for (const t of tasks) {
    const s = statCpuSeconds(`/proc/${pid}/task/${t}/stat`);
    if (s !== null) threads.set(Number(t), s);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rows, concurrency] = process.argv.slice(2).map(Number);
  console.log(
    JSON.stringify(await benchThreads({ ...(rows ? { rows } : {}), ...(concurrency ? { concurrency } : {}) }), null, 2),
  );
}
