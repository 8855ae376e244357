// `npm run bench [-- --full] [-- section ...]`: each section measures side by side on this
// machine and reports ratios; results go to bench/results.json and a table on stdout.
// Quick mode (default) shortens latencies so the suite takes minutes; --full uses the figures of
// the targets (e.g. 1-second latency for the memory runs: 200k rows then take ~55 minutes).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { root, table } from "./lib.mjs";
import { benchMemory } from "./memory.mjs";

const args = process.argv.slice(2);
const full = args.includes("--full");
const wanted = args.filter((a) => !a.startsWith("--"));
const sections = {
  memory: () => benchMemory(full ? {} : { latencyMs: 50 }),
  images: async () => (await import("./images.mjs")).benchImages({ dist: path.join(root, "dist") }),
};

const results = { machine: { cores: (await import("node:os")).cpus().length, node: process.version }, mode: full ? "full" : "quick" };
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length && !wanted.includes(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  results[name] = await run();
}
await writeFile(path.join(root, "bench", "results.json"), JSON.stringify(results, null, 2) + "\n");
if (results.memory) {
  const m = results.memory;
  console.log(`\nmemory (latency ${m.latency_ms} ms, concurrency ${m.concurrency}; target: ${m.target})`);
  console.log(table([m.small, m.large]));
  console.log(`peak ratio ${m.peak_ratio} -> ${m.met ? "met" : "MISSED"}`);
}
for (const [name, r] of Object.entries(results)) {
  if (name === "memory" || name === "machine" || name === "mode") continue;
  console.log(`\n${name}\n${JSON.stringify(r, null, 2)}`);
}
