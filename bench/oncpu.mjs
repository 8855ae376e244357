// Where `vlmpipe generate` spends CPU on text rows, measured on the CPU: `perf record` with
// the cpu-clock event samples a thread only while it runs. (node --cpu-prof samples the main
// thread's stack on a timer, so the time the thread waits descheduled, common when the
// simulator shares the 2 cores, lands on whatever function it was in: writev and writeString
// then looked several times their cost.) Prints CPU microseconds per row for the main thread
// and for the others (JIT, GC helpers, libuv's pool), and the main thread's time by part.
// Shares are inclusive (a sample counts for every part on its stack), so they overlap.
// Not part of `npm run bench`: a tool for the throughput section. Needs perf (Debian: linux-perf).
//
//   node bench/oncpu.mjs [rows=60000] [concurrency=64] [stream=false]
import { spawn, spawnSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateArgs, round, startSimProc } from "./lib.mjs";
import { writeRows } from "./throughput.mjs";

/** The parts, matched against each sample's stack frames (perf script's symbol names). */
const PARTS = {
  "reading rows (and what runs on from there up to sending)": /dist\/operators\/read-rows\.js/,
  "request encoding": /dist\/client\/request-body\.js/,
  // vlmpipe's HTTP/1.1 pool with http-parser-js (plain http), or undici (https).
  "HTTP client (sending, reading, HTTP parsing)":
    /node_modules\/undici\/|dist\/client\/http1-pool\.js|node_modules\/http-parser-js\//,
  "  of which http-parser-js": /node_modules\/http-parser-js\//,
  "  of which node's sockets (net, stream_base_commons)":
    /node:net|node:internal\/stream_base_commons|node:internal\/streams\/writable/,
  // The handler's callbacks (undici calls them as the answer comes), parsing included.
  "the answer's handler (parsing)":
    /(onResponseStart|onResponseData|onResponseEnd) (file:.*)?dist\/client\/transport\.js|dist\/client\/(parse-completion|stream-accumulator)\.js/,
  "output line and its write": /dist\/output\/(sinks|async-lines)\.js|dist\/operators\/write-output\.js/,
  rxjs: /node_modules\/rxjs\//,
  "JSON.parse": /JsonParse/,
  "JSON.stringify": /JsonStringify/,
  "garbage collection": /Scaveng|MarkCompact|Heap::CollectGarbage|Heap::PerformGarbageCollection/,
  "start-up (module loading)": /Module\._load|compileSourceTextModule|wrapSafe/,
  "final reorder (after the run)": /dist\/output\/partial-output\.js/,
};

export async function benchOnCpu({ rows = 60_000, concurrency = 64, stream = false } = {}) {
  if (spawnSync("perf", ["--version"]).status !== 0)
    throw new Error("perf is not installed (Debian: apt-get install linux-perf)");
  const dir = path.join(tmpdir(), `vlmpipe-bench-oncpu-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const input = await writeRows(path.join(dir, "in.jsonl"), rows, () => null);
  const data = path.join(dir, "perf.data");
  const sim = await startSimProc({ latency_ms: 0 });
  try {
    const child = spawn(
      "perf",
      [
        "record",
        "-q",
        "-e",
        "cpu-clock",
        "-F",
        "999",
        "-g",
        "-o",
        data,
        process.execPath,
        "--perf-basic-prof",
        ...generateArgs({ input, output: path.join(dir, "out.jsonl"), url: sim.url, concurrency }),
        "--overwrite",
        `++server.stream=${stream}`,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const code = await new Promise((r) => child.on("close", r));
    if (code !== 0) throw new Error(`perf record exited ${code}`);
  } finally {
    await sim.stop();
  }
  const script = spawnSync("perf", ["script", "-i", data, "-F", "tid,ip,sym"], {
    maxBuffer: 2 ** 30,
    encoding: "utf8",
  });
  if (script.status !== 0) throw new Error(`perf script: ${script.stderr}`);
  const { mainTid, ...result } = summarize(script.stdout, rows, 999);
  await rm(dir, { recursive: true, force: true });
  // --perf-basic-prof leaves node's symbol map in /tmp (perf reads it at `perf script`); node's
  // pid is its main thread's id.
  await rm(`/tmp/perf-${mainTid}.map`, { force: true });
  return {
    rows,
    concurrency,
    stream,
    ...result,
    note: "shares are of the main thread's samples, inclusive (a sample counts for every part on its stack)",
  };
}

/** perf script text (one block per sample: "tid", then its frames leaf first) -> figures. */
export function summarize(text, rows, hz) {
  const samples = [];
  for (const block of text.split("\n\n")) {
    const lines = block.trim().split("\n");
    if (!lines[0]) continue;
    samples.push({ tid: lines[0].trim().split(/\s+/)[0], frames: lines.slice(1) });
  }
  const perThread = new Map();
  for (const s of samples) perThread.set(s.tid, (perThread.get(s.tid) ?? 0) + 1);
  // The main thread is the busiest one.
  const [mainTid, mainCount] = [...perThread].sort((a, b) => b[1] - a[1])[0];
  const us = (count) => round((count * 1e6) / hz / rows, 1);
  const shares = {};
  for (const [name, re] of Object.entries(PARTS)) {
    const k = samples.filter((s) => s.tid === mainTid && s.frames.some((f) => re.test(f))).length;
    shares[name] = round((100 * k) / mainCount, 1);
  }
  // Self time: the leaf frame of each main-thread sample ("addr symbol (dso)" -> the symbol).
  const self = new Map();
  for (const s of samples) {
    if (s.tid !== mainTid || !s.frames[0]) continue;
    const sym = s.frames[0]
      .trim()
      .replace(/^[0-9a-f]+\s+/, "")
      .replace(/\s+\([^)]*\)$/, "")
      .slice(0, 120);
    self.set(sym, (self.get(sym) ?? 0) + 1);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return {
    mainTid,
    main_thread_cpu_us_per_row: us(mainCount),
    other_threads_cpu_us_per_row: us(samples.length - mainCount),
    main_thread_shares_pct: shares,
    main_thread_top_self_pct: Object.fromEntries(top.map(([k, n]) => [k, round((100 * n) / mainCount, 1)])),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rows, concurrency, stream] = process.argv.slice(2);
  console.log(
    JSON.stringify(
      await benchOnCpu({
        rows: Number(rows) || undefined,
        concurrency: Number(concurrency) || undefined,
        stream: stream === "true",
      }),
      null,
      2,
    ),
  );
}
