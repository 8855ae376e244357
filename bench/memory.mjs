// Section 2: memory stays flat whatever the input's size: rows are pulled only as request
// slots free up. Two runs of `vlmpipe generate` (10k and 200k rows, an image in every row,
// concurrency 64) against the simulator (its own process) with a fixed latency; the ratio of
// their peak RSS (VmHWM, the kernel's high-water mark) should stay near 1.
// The images: 8 distinct ~130 KB PNGs referenced round-robin, so the image cache (which
// counts in RSS, 256 MiB by default) holds ~1 MB in both runs and does not blur the figure.
// The client runs with --trace-gc: the live heap after each full GC shows whether anything
// grows with the row count, apart from where V8 puts its next GC.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { generateArgs, measure, root, round, startSimProc } from "./lib.mjs";

export async function benchMemory({ small = 10_000, large = 200_000, latencyMs = 1000, concurrency = 64, dir } = {}) {
  dir ??= path.join(tmpdir(), `vlmpipe-bench-mem-${process.pid}`);
  await mkdir(path.join(dir, "images"), { recursive: true });
  for (let i = 0; i < 8; i++) {
    const raw = Buffer.alloc(200 * 200 * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = (j * (i + 7) * 2654435761) >>> 24;
    await sharp(raw, { raw: { width: 200, height: 200, channels: 3 } })
      .png()
      .toFile(path.join(dir, "images", `${i}.png`));
  }
  const sim = await startSimProc({ latency_ms: latencyMs });
  const results = {};
  try {
    for (const n of [small, large]) {
      const input = path.join(dir, `in-${n}.jsonl`);
      const lines = [];
      for (let i = 0; i < n; i++)
        lines.push(
          JSON.stringify({ id: i, problem: `Question ${i}?\n\nA) a\nB) b`, image_path: `images/${i % 8}.png` }),
        );
      await writeFile(input, lines.join("\n") + "\n");
      const out = path.join(dir, `out-${n}.jsonl`);
      const gc = gcTrace();
      const r = await measure(
        process.execPath,
        ["--trace-gc", ...generateArgs({ input, output: out, url: sim.url, concurrency }), "--overwrite"],
        // --trace-gc writes to stdout; vlmpipe writes its rows to the output file.
        { stdout: "pipe", onStdout: gc.feed },
      );
      results[n] = {
        rows: n,
        seconds: round(r.seconds, 1),
        peak_rss_mb: round(r.peakMb, 1),
        full_gcs: gc.count,
        heap_after_full_gc_mb: { first: gc.first, last: gc.last, max: gc.max },
        heap_before_full_gc_max_mb: gc.maxBefore,
      };
      await rm(input, { force: true });
      await rm(out, { force: true });
    }
  } finally {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const ratio = results[large].peak_rss_mb / results[small].peak_rss_mb;
  return {
    latency_ms: latencyMs,
    concurrency,
    images: "8 distinct ~130 KB PNGs, round-robin (image cache at its default size, ~1 MB used)",
    small: results[small],
    large: results[large],
    peak_ratio: round(ratio, 3),
    target: "large/small peak <= 1.1 and large < 300 MB",
    met: ratio <= 1.1 && results[large].peak_rss_mb < 300,
  };
}

/** Reads --trace-gc lines: "Mark-Compact 82.7 (113.9) -> 23.3 (94.4) MB, ...". */
function gcTrace() {
  const t = { count: 0, first: undefined, last: undefined, max: 0, maxBefore: 0 };
  let buf = "";
  t.feed = (b) => {
    buf += b;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /Mark-Compact[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/.exec(line);
      if (!m) continue;
      const after = Number(m[3]);
      t.count++;
      t.first ??= after;
      t.last = after;
      t.max = Math.max(t.max, after);
      t.maxBefore = Math.max(t.maxBefore, Number(m[2]));
    }
  };
  return t;
}

/** Where a full-mode memory run is kept: it takes ~55 minutes, so quick runs show the last one beside their own. */
export const FULL_RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "results-memory-full.json");

/** The commit checked out when this module loaded: the run's start, not its end an hour later. */
const commitAtStart = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return null; // not a git checkout
  }
})();

/** Saves a full-mode result with when and on which commit it was measured. */
export async function saveFullResult(result) {
  const saved = {
    mode: "full (memory section)",
    date: new Date().toISOString(),
    commit: commitAtStart,
    command: "node bench/memory.mjs --full",
    ...result,
  };
  await writeFile(FULL_RESULTS, JSON.stringify(saved, null, 2) + "\n");
  return saved;
}

/** The last full-mode result, or undefined. */
export async function lastFullResult() {
  try {
    return JSON.parse(await readFile(FULL_RESULTS, "utf8"));
  } catch {
    return undefined;
  }
}

//   node bench/memory.mjs            quick (20 ms latency)
//   node bench/memory.mjs --full     the target's settings (1 s latency, ~55 min); saved to results-memory-full.json
//   node bench/memory.mjs 50000      quick, with 50,000 rows for the large run
if (import.meta.url === `file://${process.argv[1]}`) {
  const full = process.argv.includes("--full");
  const n = process.argv.find((a) => /^\d+$/.test(a));
  const result = await benchMemory({ ...(full ? {} : { latencyMs: 20 }), ...(n ? { large: Number(n) } : {}) });
  console.log(JSON.stringify(full && !n ? await saveFullResult(result) : result, null, 2));
}
