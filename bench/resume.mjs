// Section 3: resume. A 1,000,000-row partial output (`<out>-async`, lines as vlmpipe writes
// them, in a shuffled completion order) with its last rows missing: how long from starting
// `vlmpipe generate` again until the simulator receives the first request, next to `wc -l`
// on the same file. The run is killed once that request arrives; the file is cut back to
// its size before each pass. A fresh start on the same input (no partial file) is shown too:
// the difference is what skipping the done rows costs.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat, truncate } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { dist, generateArgs, measure, peakRssMb, root, round, startSimProc } from "./lib.mjs";

/**
 * @param {{ dir: string, rows?: number, remaining?: number, repeats?: number, log?: (s: string) => void,
 *           profileDir?: string }} o  profileDir: also write a --cpu-prof of one resume there
 */
export async function benchResume({
  dir,
  rows = 1_000_000,
  remaining = 1000,
  repeats = 3,
  log = () => {},
  profileDir,
  keep = false,
}) {
  await mkdir(dir, { recursive: true });
  const input = path.join(dir, "resume-input.jsonl");
  const output = path.join(dir, "resume-output.jsonl");
  const asyncFile = `${output}-async`;
  await writeInput(input, rows);
  const sim = await startSimProc({ latency_ms: 0 });
  try {
    const args = [...generateArgs({ input, output, url: sim.url, concurrency: 64 })];
    // A short real run writes the run's spec file (what a resume checks), then the partial
    // file is replaced by the synthetic one.
    await measure(process.execPath, [...args, "--overwrite", "++max_samples=1"]);
    await Promise.all([output, `${output}.done`].map((f) => rm(f, { force: true })));
    const asyncBytes = await writePartial(asyncFile, rows - remaining);
    log(`resume: partial file ${round(asyncBytes / 2 ** 20, 0)} MB, ${rows - remaining} lines`);

    const wc = [];
    for (let r = 0; r < repeats; r++) wc.push((await measure("wc", ["-l", asyncFile], { stdout: "pipe" })).seconds);
    const resumes = [];
    for (let r = 0; r < repeats; r++) {
      await truncate(asyncFile, asyncBytes);
      resumes.push(await untilFirstRequest(sim, args));
    }
    if (profileDir) {
      await truncate(asyncFile, asyncBytes);
      await untilFirstRequest(sim, args, profileDir);
    }
    // The end of a run: the lines put in input order (finalizeOutput, on a copy of the partial
    // file), next to `cp` and `sync` of the same file (the same bytes read, written in file
    // order and made durable).
    const fin = await timeFinalize(dir, asyncFile, repeats);
    // The same command with nothing done: start-up alone.
    await rename(asyncFile, `${asyncFile}.kept`);
    const fresh = [];
    for (let r = 0; r < repeats; r++) fresh.push(await untilFirstRequest(sim, [...args, "--overwrite"]));
    await rename(`${asyncFile}.kept`, asyncFile);
    await truncate(asyncFile, asyncBytes);
    const best = (xs) => Math.min(...xs);
    const resumeSeconds = best(resumes.map((x) => x.seconds));
    const wcSeconds = best(wc);
    return {
      rows,
      done_rows: rows - remaining,
      partial_megabytes: round(asyncBytes / 2 ** 20, 0),
      wc_l_seconds: round(wcSeconds, 3),
      resume_to_first_request_seconds: round(resumeSeconds, 3),
      fresh_start_to_first_request_seconds: round(best(fresh.map((x) => x.seconds)), 3),
      resume_peak_rss_mb: round(Math.max(...resumes.map((x) => x.peakMb)), 0),
      ratio_vs_wc: round(resumeSeconds / wcSeconds, 2),
      finalize_seconds: round(fin.seconds, 3),
      cp_seconds: round(fin.cpSeconds, 3),
      finalize_ratio_vs_cp: round(fin.seconds / fin.cpSeconds, 2),
      finalize_peak_rss_mb: round(fin.peakMb, 0),
      target: "resume to first request <= 10 x wc -l",
      met: resumeSeconds <= 10 * wcSeconds,
    };
  } finally {
    await sim.stop();
    if (!keep) await Promise.all([input, output, asyncFile, `${output}.spec.json`].map((f) => rm(f, { force: true })));
  }
}

/** Best of `repeats`: finalizeOutput of a copy of the partial file, and `cp` + `sync` of it. */
async function timeFinalize(dir, asyncFile, repeats) {
  const finDir = path.join(dir, "finalize");
  await mkdir(finDir, { recursive: true });
  const output = path.join(finDir, "out.jsonl");
  const copy = path.join(finDir, "copy");
  const runs = [];
  const cps = [];
  try {
    for (let r = 0; r < repeats; r++) {
      // cp then sync: finalize also makes its output durable (fsync) before renaming it.
      cps.push((await measure("sh", ["-c", 'cp "$0" "$1" && sync "$1"', asyncFile, copy])).seconds);
      await rm(`${output}.done`, { force: true });
      await rename(copy, `${output}-async`);
      const m = await measure(process.execPath, [path.join(root, "bench", "finalize-driver.mjs"), output], {
        stdout: "pipe",
      });
      runs.push({ seconds: JSON.parse(m.stdout).seconds, peakMb: m.peakMb });
    }
  } finally {
    await rm(finDir, { recursive: true, force: true });
  }
  return {
    seconds: Math.min(...runs.map((x) => x.seconds)),
    peakMb: Math.max(...runs.map((x) => x.peakMb)),
    cpSeconds: Math.min(...cps),
  };
}

/**
 * Seconds from spawning the command to the simulator's first request; the run is then killed
 * (with a profile: interrupted, so that node writes the profile on its way out).
 */
async function untilFirstRequest(sim, args, profileDir) {
  const first = sim.firstRequest();
  const t0 = performance.timeOrigin + performance.now();
  const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...prof, ...args], { stdio: ["ignore", "ignore", "ignore"] });
  let peakMb = 0;
  const timer = setInterval(() => {
    peakMb = Math.max(peakMb, peakRssMb(child.pid) ?? 0);
  }, 20);
  const at = await first;
  peakMb = Math.max(peakMb, peakRssMb(child.pid) ?? 0);
  clearInterval(timer);
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(profileDir ? "SIGINT" : "SIGKILL");
  await exited;
  // Requests the killed run had already sent may still be arriving: let them land before the
  // next pass watches for its first request.
  await new Promise((r) => setTimeout(r, 300));
  return { seconds: (at - t0) / 1000, peakMb };
}

function problem(i) {
  return `Question ${i}: which of the following statements about the figure is correct? Consider the axes and the labels.\n\nA) It rises\nB) It falls\nC) It is flat\nD) It oscillates`;
}

async function writeInput(file, n) {
  await writeLines(file, n, (i) =>
    JSON.stringify({ id: `q${i}`, problem: problem(i), expected_answer: "B", image_path: null }),
  );
}

/**
 * `done` lines as vlmpipe writes them (formatAsyncLine, with row digests), for input rows 0..done-1 in a
 * completion order: each block of 64 rows finishes shuffled, as concurrent requests do.
 */
async function writePartial(file, done) {
  const { formatAsyncLine } = await import(pathToFileURL(path.join(dist, "output/async-lines.js")).href);
  // Each line carries its input row's digest, as a run writes it: the resume checks every one.
  const { rowDigest } = await import(pathToFileURL(path.join(dist, "output/row-digest.js")).href);
  const generation =
    "Looking at the image and the options, the figure shows the relevant quantities clearly. Each option can be " +
    "checked against the details given. Some options can be ruled out quickly. The remaining candidates differ in " +
    "one key detail. Comparing them with the image settles the matter.\nAnswer: B";
  const order = [];
  let seed = 1;
  for (let base = 0; base < done; base += 64) {
    const block = [];
    for (let i = base; i < Math.min(done, base + 64); i++) block.push(i);
    for (let i = block.length - 1; i > 0; i--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = seed % (i + 1);
      [block[i], block[j]] = [block[j], block[i]];
    }
    order.push(...block);
  }
  const t = 1.7e9;
  await writeLines(file, done, (k) => {
    const i = order[k];
    const row = { id: `q${i}`, problem: problem(i), expected_answer: "B", image_path: null };
    const out = {
      generation,
      num_generated_tokens: 61,
      finish_reason: "stop",
      generation_start_time: t + i / 1000,
      generation_end_time: t + i / 1000 + 0.8,
      generation_time: 0.8,
    };
    const text = Buffer.from(JSON.stringify(row));
    return formatAsyncLine(row, out, i, undefined, undefined, rowDigest(text, 0, text.length)).slice(0, -1);
  });
  return (await stat(file)).size;
}

async function writeLines(file, n, line) {
  const out = createWriteStream(file);
  let batch = [];
  for (let i = 0; i < n; i++) {
    batch.push(line(i));
    if (batch.length === 10_000 || i === n - 1) {
      if (!out.write(batch.join("\n") + "\n")) await new Promise((r) => out.once("drain", r));
      batch = [];
    }
  }
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { root } = await import("./lib.mjs");
  const dir = path.join(root, "bench", "out", "resume");
  const p = process.argv.indexOf("--profile");
  const profileDir = p > 0 ? path.resolve(process.argv[p + 1]) : undefined;
  const keep = process.argv.includes("--keep");
  console.log(
    JSON.stringify(
      await benchResume({ dir, log: (s) => console.error(s), profileDir, keep, repeats: profileDir ? 1 : 3 }),
      null,
      2,
    ),
  );
}
