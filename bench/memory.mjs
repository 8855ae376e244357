// Memory stays flat whatever the input's size: rows are pulled only as request slots free up.
// Two runs of `vlmpipe generate` (10k and 200k rows, an image in every row, concurrency 64)
// against the simulator with a fixed latency; the ratio of their peak RSS should stay near 1.
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { bin, measure, startSim } from "./lib.mjs";

export async function benchMemory({ small = 10_000, large = 200_000, latencyMs = 1000, concurrency = 64 } = {}) {
  const dir = path.join(tmpdir(), `vlmpipe-bench-mem-${process.pid}`);
  await mkdir(path.join(dir, "images"), { recursive: true });
  // A handful of distinct ~100 KB images, referenced round-robin.
  for (let i = 0; i < 8; i++) {
    const raw = Buffer.alloc(200 * 200 * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = (j * (i + 7) * 2654435761) >>> 24;
    await sharp(raw, { raw: { width: 200, height: 200, channels: 3 } }).png().toFile(path.join(dir, "images", `${i}.png`));
  }
  const sim = await startSim(["--latency_ms", String(latencyMs)]);
  const results = {};
  try {
    for (const n of [small, large]) {
      const input = path.join(dir, `in-${n}.jsonl`);
      const lines = [];
      for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: i, problem: `Question ${i}?\n\nA) a\nB) b`, image_path: `images/${i % 8}.png` }));
      await writeFile(input, lines.join("\n") + "\n");
      const out = path.join(dir, `out-${n}.jsonl`);
      const r = await measure(process.execPath, [
        bin, "generate", "--input_file", input, "--output_file", out, "--prompt_config", "vlm/mmmu-pro",
        "--model", "sim", "--server_address", `${sim.url}/v1`, "--max_concurrent_requests", String(concurrency),
        "--quiet", "--overwrite",
      ]);
      results[n] = { rows: n, seconds: +r.seconds.toFixed(1), peak_rss_mb: +r.peakMb.toFixed(1) };
    }
  } finally {
    await sim.stop();
  }
  const ratio = results[large].peak_rss_mb / results[small].peak_rss_mb;
  return {
    latency_ms: latencyMs,
    concurrency,
    small: results[small],
    large: results[large],
    peak_ratio: +ratio.toFixed(3),
    target: "large/small peak <= 1.1 and large < 300 MB",
    met: ratio <= 1.1 && results[large].peak_rss_mb < 300,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const full = process.argv.includes("--full");
  console.log(JSON.stringify(await benchMemory(full ? {} : { latencyMs: 50 }), null, 2));
}
