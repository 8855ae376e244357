// Resume inside a generation (docs/resume-partial.md), two measurements against the simulator
// in its own process, with long streamed answers at a model's pace (a token a chunk):
//
// 1. Overhead of saving: 1,024 rows at 512 streams in flight, ++resume_partial on and off,
//    alternating; wall time of the run and the client's CPU seconds. The saves append what
//    streamed since the last one (every second) to <out>.inflight.
// 2. The kill/resume loop: the same run killed with kill -9 twice while answers are three
//    quarters done, then resumed to the end, with and without resume_partial: the tokens the
//    "GPU" streamed in all (the simulator counts them, cut streams included) and the wall
//    time of the whole loop.
//
//   node bench/resume-partial.mjs [--rows 1024] [--concurrency 512] [--tokens 600] [--delay 20]
import { mkdir, rm, writeFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import path from "node:path";
import { bin, measure, root, round, startSimProc } from "./lib.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const rows = arg("rows", 1024);
const concurrency = arg("concurrency", 512);
const tokens = arg("tokens", 600);
const delayMs = arg("delay", 20);
const repeats = arg("repeats", 3);
const dir = path.join(root, "bench", "out", "resume-partial");
const log = (s) => process.stderr.write(`resume-partial: ${s}\n`);

await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const input = path.join(dir, "input.jsonl");
const lines = [];
for (let i = 0; i < rows; i++) {
  lines.push(JSON.stringify({ id: `q${i}`, problem: `Question ${i}: which option fits?\n\nA) a\nB) b\nC) c\nD) d`, expected_answer: "B", image_path: null }));
}
await writeFile(input, lines.join("\n") + "\n");
const sim = await startSimProc({ answer_tokens: tokens, token_delay_ms: delayMs });

const args = (out, enabled) => [
  bin, "generate", "--input_file", input, "--output_file", out, "--prompt_config", "vlm/mmmu-pro", "--model", "sim",
  "--server_address", `${sim.url}/v1`, "--max_concurrent_requests", String(concurrency), "--quiet",
  `++resume_partial.enabled=${enabled}`,
];

try {
  // 1. Saving overhead, on and off in turn.
  const runs = { on: [], off: [] };
  for (let r = 0; r < repeats; r++) {
    for (const mode of r % 2 ? ["off", "on"] : ["on", "off"]) {
      const out = path.join(dir, `overhead-${mode}-${r}.jsonl`);
      const m = await measure(process.execPath, [...args(out, mode === "on"), "--overwrite"]);
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
  for (const mode of ["on", "off"]) {
    const out = path.join(dir, `loop-${mode}.jsonl`);
    const before = (await sim.stats()).tokensStreamed;
    const t0 = performance.now();
    for (let kill = 0; ; kill++) {
      const child = spawn(process.execPath, args(out, mode === "on"), { stdio: "ignore" });
      const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
      if (kill < 2) {
        // Three quarters of an answer into the run (past min_tokens: 256 of 600 by default), then kill -9.
        while ((await sim.stats()).inFlight < concurrency / 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, (tokens * delayMs * 3) / 4));
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
    loop[mode] = { seconds: round(seconds, 1), tokens_streamed: streamed, ratio_to_answers: round(streamed / (rows * tokens), 3) };
    log(`loop ${mode}: ${round(seconds, 1)} s, ${streamed} tokens streamed (${round(streamed / (rows * tokens), 3)}x the answers)`);
    await Promise.all([out, `${out}.done`, `${out}.spec.json`, `${out}-async`, `${out}.inflight`].map((f) => rm(f, { force: true })));
  }
  const result = {
    overhead,
    kill_resume_loop: {
      rows,
      concurrency,
      kills: 2,
      answers_tokens: rows * tokens,
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
