// Where the text-row gap to autocannon sits, layer by layer: the same streamed text bodies
// sent to the same simulator at the same concurrency by
//   autocannon   the raw load generator of bench/throughput.mjs
//   undici       undici alone (Pool.dispatch, answers dropped): what https servers get
//   discard      vlmpipe's HTTP/1.1 pool alone (Http1Pool.dispatch, answers dropped)
//   sse          + vlmpipe's SSE accumulation of each answer
//   transport    vlmpipe's transport (request encoding, handler, deadlines, SSE)
//   vlmpipe      the whole `vlmpipe generate` (rows read, prompt, output written)
// taking turns, `reps` rounds; medians of the steady rate (last 80% of the rows), each as a
// ratio to autocannon's. Not part of `npm run bench`: a tool for the throughput section's
// remaining gap (docs/performance.md, "Known limits"). autocannon comes from bench/.peers,
// which `npm run bench` installs.
//
//   node bench/layers.mjs [rows=40000] [reps=5] [concurrency=64]
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { requestBodies, writeBodies } from "./bodies.mjs";
import { generateArgs, median, root, round, startSimProc, windowRates } from "./lib.mjs";
import { AUTOCANNON_DRIVER, writeRows } from "./throughput.mjs";

const LAYERS = ["autocannon", "undici", "discard", "sse", "transport", "vlmpipe"];

export async function benchLayers({ rows = 40_000, reps = 5, concurrency = 64, log = () => {} } = {}) {
  const dir = path.join(tmpdir(), `vlmpipe-bench-layers-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const input = await writeRows(path.join(dir, "in.jsonl"), rows, () => null);
  const bodies = await requestBodies({
    inputFile: input,
    promptConfig: "vlm/mmmu-pro",
    model: "sim",
    overrides: { server: { stream: true } },
    count: rows,
  });
  const bodiesFile = path.join(dir, "bodies.ndjson");
  await writeBodies(bodiesFile, bodies);
  const c = String(concurrency);
  const sim = await startSimProc({ latency_ms: 0 });
  const rates = Object.fromEntries(LAYERS.map((l) => [l, []]));
  try {
    const driver = (mode) => [
      path.join(root, "bench", "layers-driver.mjs"),
      sim.url,
      bodiesFile,
      c,
      String(rows),
      mode,
    ];
    const args = {
      autocannon: [AUTOCANNON_DRIVER, sim.url, bodiesFile, c, String(rows)],
      undici: driver("undici"),
      discard: driver("discard"),
      sse: driver("sse"),
      transport: driver("transport"),
      vlmpipe: [
        ...generateArgs({ input, output: path.join(dir, "out.jsonl"), url: sim.url, concurrency: c }),
        "--overwrite",
        "++server.stream=true",
      ],
    };
    const run = async (layer) => {
      const window = sim.window(rows);
      const child = spawn(process.execPath, args[layer], { stdio: ["ignore", "ignore", "inherit"] });
      const code = await new Promise((r) => child.on("close", r));
      if (code !== 0) throw new Error(`${layer} exited ${code}`);
      return windowRates(await window, rows).steadyRowsPerSecond;
    };
    await run("autocannon"); // warms the simulator, as in bench/throughput.mjs
    for (let r = 0; r < reps; r++) {
      for (const layer of LAYERS) {
        rates[layer].push(round(await run(layer), 0));
        log(`layers round ${r + 1}: ${layer} ${rates[layer].at(-1)} rows/s`);
      }
    }
  } finally {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const base = median(rates.autocannon);
  return {
    rows,
    reps,
    concurrency,
    stream: true,
    layers: LAYERS.map((l) => ({
      layer: l,
      median_rows_per_s: median(rates[l]),
      ratio_to_autocannon: round(median(rates[l]) / base, 3),
      passes: rates[l],
    })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rows, reps, concurrency] = process.argv.slice(2).map(Number);
  console.log(
    JSON.stringify(
      await benchLayers({
        rows: rows || undefined,
        reps: reps || undefined,
        concurrency: concurrency || undefined,
        log: (s) => console.error(s),
      }),
      null,
      2,
    ),
  );
}
