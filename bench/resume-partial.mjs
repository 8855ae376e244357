// Resume inside a generation (docs/resume-partial.md), two measurements against the simulator
// in its own process, with long streamed answers at a model's pace (a token a chunk):
//
// 1. Overhead of saving: 512 rows at 512 streams in flight, ++resume_partial on (with
//    min_tokens 32, so that every answer is saved for most of its time) and off, alternating;
//    wall time of the run and the client's CPU seconds. The saves append what streamed since
//    the last one (every second) to <out>.inflight.
// 2. The kill/resume loop: 256 rows at 256 in flight, each run killed with kill -9 once it has
//    streamed 40% of the answers (twice), then resumed to the end, with resume_partial
//    (min_tokens 64) and without: the tokens the "GPU" streamed in all (the simulator counts
//    them as it sends them, cut streams included) and the wall time of the whole loop.
//
//   node bench/resume-partial.mjs [--rows 512] [--concurrency 512] [--tokens 300] [--delay 100] [--repeats 2]

import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateArgs, measure, root, round, startSimProc } from "./lib.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const rows = arg("rows", 512);
const concurrency = arg("concurrency", 512);
const tokens = arg("tokens", 300);
// 100 ms a token: 512 streams are then ~5,000 chunks a second, which one simulator process
// keeps up with on a loaded machine (at 20 ms it fell far behind and measured itself).
const delayMs = arg("delay", 100);
const repeats = arg("repeats", 2);
const dir = path.join(root, "bench", "out", "resume-partial");
const log = (s) => process.stderr.write(`resume-partial: ${s}\n`);

await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const input = path.join(dir, "input.jsonl");
const lines = [];
for (let i = 0; i < rows; i++) {
  lines.push(
    JSON.stringify({
      id: `q${i}`,
      problem: `Question ${i}: which option fits?\n\nA) a\nB) b\nC) c\nD) d`,
      expected_answer: "B",
      image_path: null,
    }),
  );
}
await writeFile(input, lines.join("\n") + "\n");
const sim = await startSimProc({ answer_tokens: tokens, token_delay_ms: delayMs });

const args = (out, enabled, minTokens = 256) => [
  ...generateArgs({ input, output: out, url: sim.url, concurrency }),
  `++resume_partial.enabled=${enabled}`,
  `++resume_partial.min_tokens=${minTokens}`,
];

try {
  // 1. Saving overhead, on and off in turn.
  const runs = { on: [], off: [] };
  for (let r = 0; r < repeats; r++) {
    for (const mode of r % 2 ? ["off", "on"] : ["on", "off"]) {
      const out = path.join(dir, `overhead-${mode}-${r}.jsonl`);
      const m = await measure(process.execPath, [...args(out, mode === "on", 32), "--overwrite"]);
      runs[mode].push({ seconds: m.seconds, cpu: m.cpuSeconds });
      log(`overhead ${mode}: ${round(m.seconds, 2)} s, client CPU ${round(m.cpuSeconds, 2)} s`);
      await rm(out, { force: true });
    }
  }
  const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
  const overhead = {
    rows,
    concurrency,
    answer_tokens: tokens,
    token_delay_ms: delayMs,
    seconds_on: round(best(runs.on, "seconds"), 2),
    seconds_off: round(best(runs.off, "seconds"), 2),
    throughput_ratio_on_vs_off: round(best(runs.off, "seconds") / best(runs.on, "seconds"), 3),
    client_cpu_seconds_on: round(best(runs.on, "cpu"), 2),
    client_cpu_seconds_off: round(best(runs.off, "cpu"), 2),
    target: "throughput with saving >= 0.95 x without",
    met: best(runs.off, "seconds") / best(runs.on, "seconds") >= 0.95,
  };

  // 2. The kill/resume loop.
  const loop = {};
  const loopRows = Math.min(rows, 256);
  const loopInput = path.join(dir, "loop-input.jsonl");
  await writeFile(loopInput, lines.slice(0, loopRows).join("\n") + "\n");
  for (const mode of ["on", "off"]) {
    const out = path.join(dir, `loop-${mode}.jsonl`);
    const before = (await sim.stats()).tokensStreamed;
    const t0 = performance.now();
    for (let kill = 0; ; kill++) {
      const a = args(out, mode === "on", 64);
      a[a.indexOf(input)] = loopInput;
      a[a.indexOf(String(concurrency))] = String(loopRows);
      const child = spawn(process.execPath, a, { stdio: "ignore" });
      const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
      if (kill < 2) {
        // Once this run has streamed 40% of the answers' tokens, kill -9.
        const from = (await sim.stats()).tokensStreamed;
        while ((await sim.stats()).tokensStreamed - from < 0.4 * loopRows * tokens && child.exitCode === null) {
          await new Promise((r) => setTimeout(r, 50));
        }
        child.kill("SIGKILL");
      }
      const e = await exited;
      if (e.signal !== "SIGKILL") {
        if (e.code !== 0) throw new Error(`run exited ${e.code}`);
        break;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    // Let cut streams be counted.
    while ((await sim.stats()).inFlight > 0) await new Promise((r) => setTimeout(r, 50));
    const streamed = (await sim.stats()).tokensStreamed - before;
    const ratio = round(streamed / (loopRows * tokens), 3);
    loop[mode] = { seconds: round(seconds, 1), tokens_streamed: streamed, ratio_to_answers: ratio };
    log(`loop ${mode}: ${round(seconds, 1)} s, ${streamed} tokens streamed (${ratio}x the answers)`);
    await Promise.all(
      [out, `${out}.done`, `${out}.spec.json`, `${out}-async`, `${out}.inflight`].map((f) => rm(f, { force: true })),
    );
  }
  const result = {
    overhead,
    kill_resume_loop: {
      rows: loopRows,
      concurrency: loopRows,
      kills: 2,
      min_tokens: 64,
      answers_tokens: loopRows * tokens,
      with_resume_partial: loop.on,
      without: loop.off,
      gpu_tokens_saved: loop.off.tokens_streamed - loop.on.tokens_streamed,
      wall_time_ratio_on_vs_off: round(loop.on.seconds / loop.off.seconds, 3),
    },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
}
