// `npm run bench [-- --full] [-- section ...]`: each section measures side by side on this
// machine and reports ratios; results go to bench/results.json, a Markdown table to
// bench/results.md and stdout (docs/performance.md's "Last run" is that table).
// Sections: throughput imagerows memory resume scoring images peer (default: all). Naming
// some re-runs those and keeps the saved results of the others.
// Quick mode (default) scales the slow parts down so the suite takes ~15 minutes; --full uses
// the figures of the targets (1-second latency for the memory runs: the 200k run alone then
// takes ~55 minutes). Every scaled figure says so in the table.
// Peers (autocannon, promptfoo) are installed on demand into bench/.peers, never into the
// project's dependencies.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { root } from "./lib.mjs";
import { renderTable } from "./report.mjs";

const args = process.argv.slice(2);
const full = args.includes("--full");
const wanted = args.filter((a) => !a.startsWith("--"));
const out = path.join(root, "bench", "out");
const log = (s) => process.stderr.write(`bench: ${s}\n`);

const sections = {
  throughput: async () =>
    (await import("./throughput.mjs")).benchThroughput({
      dir: path.join(out, "throughput"),
      // Passes of ~5 s (text) and ~3 s (images) at least: shorter ones let a second of outside
      // load on this shared machine swing a round's ratio.
      ...(full
        ? { textRows: 100_000, imageRows: 6_000, repeats: 7 }
        : { textRows: 50_000, imageRows: 3_000, repeats: 7 }),
      log,
    }),
  // Image rows from files, whole processes, next to autocannon (bench/image-rows.mjs).
  imagerows: async () =>
    (await import("./image-rows.mjs")).benchImageRows({
      dir: path.join(out, "image-rows"),
      ...(full ? { rows: 20_000, bigRows: 6_000, rounds: 7 } : { rows: 20_000, bigRows: 3_000, rounds: 5 }),
      log,
    }),
  memory: async () => {
    const m = await import("./memory.mjs");
    const result = await m.benchMemory({ dir: path.join(out, "memory"), ...(full ? {} : { latencyMs: 20 }) });
    // Quick mode scales the latency down (V8 then sizes its heap for a 50x allocation rate);
    // the target's own settings take ~55 minutes, so the last such run is shown beside.
    if (full) await m.saveFullResult(result);
    else result.last_full_run = await m.lastFullResult();
    return result;
  },
  resume: async () => (await import("./resume.mjs")).benchResume({ dir: path.join(out, "resume"), log }),
  scoring: async () =>
    (await import("./scoring.mjs")).benchScoring({
      dir: path.join(out, "scoring"),
      rows: full ? 1_000_000 : 200_000,
      log,
    }),
  images: async () => (await import("./images.mjs")).benchImages({ dist: path.join(root, "dist") }),
  peer: async () =>
    (await import("./peer.mjs")).benchPeer({
      dir: path.join(out, "peer"),
      rows: full ? 5_000 : 1_000,
      repeats: 2,
      log,
    }),
};
const run = Object.keys(sections).filter((s) => !wanted.length || wanted.includes(s));
if (run.some((s) => s === "throughput" || s === "imagerows" || s === "peer")) installPeers();

const results = {
  machine: {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    loadavg_at_start: os.loadavg().map((x) => +x.toFixed(2)),
  },
  mode: full ? "full" : "quick",
  date: new Date().toISOString(),
};
await mkdir(out, { recursive: true });
for (const name of run) {
  log(`${name}...`);
  const t0 = Date.now();
  results[name] = await sections[name]();
  results[name].section_seconds = Math.round((Date.now() - t0) / 1000);
}
results.machine.loadavg_at_end = os.loadavg().map((x) => +x.toFixed(2));
const saved = await mergeIntoSaved(results);
const table = renderTable(saved);
await writeFile(path.join(root, "bench", "results.json"), JSON.stringify(saved, null, 2) + "\n");
await writeFile(path.join(root, "bench", "results.md"), table);
for (const d of ["throughput", "peer", "scoring"]) await rm(path.join(out, d), { recursive: true, force: true });
console.log(table);

/**
 * A run of some sections replaces those sections in the saved results and keeps the others
 * (each re-run is listed with its date, mode and machine load); a run of all starts afresh.
 */
async function mergeIntoSaved(fresh) {
  if (!wanted.length) return fresh;
  let saved;
  try {
    saved = JSON.parse(await readFile(path.join(root, "bench", "results.json"), "utf8"));
  } catch {
    return fresh;
  }
  const rerun = { sections: run, date: fresh.date, mode: fresh.mode, machine: fresh.machine };
  // Each section's latest re-run only: an earlier one of the same section no longer shows.
  const earlier = (saved.reruns ?? [])
    .map((x) => ({ ...x, sections: x.sections.filter((s) => !run.includes(s)) }))
    .filter((x) => x.sections.length > 0);
  const merged = { ...saved, reruns: [...earlier, rerun] };
  for (const name of run) merged[name] = fresh[name];
  return merged;
}

/** autocannon and promptfoo, into bench/.peers (not package.json): CI stays lean. */
function installPeers() {
  const peers = path.join(root, "bench", ".peers");
  const have = (p) => existsSync(path.join(peers, "node_modules", p, "package.json"));
  if (have("autocannon") && have("promptfoo")) return;
  log("installing autocannon@8 and promptfoo@0.115.0 into bench/.peers (once)");
  // promptfoo >= 0.116 needs Node 22. Browser downloads of its optional deps are skipped.
  execFileSync(
    "npm",
    ["install", "--prefix", peers, "--no-save", "--no-audit", "--no-fund", "autocannon@8", "promptfoo@0.115.0"],
    {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1", PUPPETEER_SKIP_DOWNLOAD: "1" },
    },
  );
}
