// Section 1: throughput at the limit of the server. `vlmpipe generate` against the simulator
// (zero latency, its own process) next to autocannon sending the very same request bodies
// (built by vlmpipe's own operators) to the same simulator at the same concurrency.
// Rows/s are counted on the simulator's side for both (first request in -> N-th response
// out), so neither tool's start-up is in the figure; vlmpipe's end-to-end wall time (start-up,
// reading, writing and the final reorder included) is reported beside it. The verdict uses
// the steady rate, over the last 80% of the rows (the first tenth of a pass is each tool's
// ramp: connections opening, V8 compiling the hot code; runs of hours are all steady state),
// as the median of the rounds' paired ratios. vlmpipe's ramp is the slower one, so the whole
// window's rate and each tool's best pass are kept beside it.
// Both clients and the simulator share 2 cores here: each tool's CPU per row is reported
// too, since on such a machine the client's CPU is taken from the server.
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { requestBodies, writeBodies } from "./bodies.mjs";
import { cpuBetween, generateArgs, measure, median, PROMPT, root, round, startSimProc, windowRates } from "./lib.mjs";

export const AUTOCANNON_DRIVER = path.join(root, "bench", "peers", "autocannon-driver.mjs");

/**
 * @param {{ dir: string, textRows?: number, imageRows?: number, concurrencies?: number[],
 *           streams?: boolean[], repeats?: number, kinds?: ("text"|"image")[], log?: (s: string) => void }} o
 */
export async function benchThroughput({
  dir,
  textRows = 10_000,
  imageRows = 2_000,
  concurrencies = [64, 512],
  streams = [true, false],
  repeats = 7,
  kinds = ["text", "image"],
  log = () => {},
}) {
  await mkdir(path.join(dir, "images"), { recursive: true });
  const imageFile = path.join(dir, "images", "big.png");
  const imageBytes = await makeImage(imageFile);
  const inputs = {
    text: await writeRows(path.join(dir, "text.jsonl"), textRows, () => null),
    image: await writeRows(path.join(dir, "image.jsonl"), imageRows, () => "images/big.png"),
  };
  const rowsOf = { text: textRows, image: imageRows };
  const sim = await startSimProc({ latency_ms: 0 });
  const cases = [];
  try {
    for (const kind of kinds) {
      for (const stream of streams) {
        const overrides = { server: { stream } };
        // autocannon sends every text row's body; for image rows it cycles over the first 32
        // (they all carry the same image, so 32 bodies stand for all of them without holding
        // GBs in memory; the simulator's per-question work is cached alike for both tools).
        const bodies = await requestBodies({
          inputFile: inputs[kind],
          promptConfig: PROMPT,
          model: "sim",
          overrides,
          count: kind === "text" ? rowsOf[kind] : 32,
        });
        const bodiesFile = path.join(dir, `bodies-${kind}-${stream}.ndjson`);
        await writeBodies(bodiesFile, bodies);
        const bodyBytes = bodies[0].length;
        // An untimed pass first: the simulator's JIT and its per-question caches are then warm
        // for both tools' first passes (without it, vlmpipe's first pass alone met them cold).
        await runAutocannon(sim, bodiesFile, rowsOf[kind], concurrencies[0]);
        for (const concurrency of concurrencies) {
          const n = rowsOf[kind];
          // Each round's two passes, in turn.
          const rounds = [];
          // Taking turns, `repeats` rounds, who goes first alternating: outside load is spread
          // over both tools, and a round's two passes are next to each other in time.
          for (let r = 0; r < repeats; r++) {
            const runV = () =>
              runVlmpipe(sim, inputs[kind], path.join(dir, `out-${kind}.jsonl`), n, concurrency, stream);
            const runA = () => runAutocannon(sim, bodiesFile, n, concurrency);
            let v, a;
            if (r % 2 === 0) {
              v = await runV();
              a = await runA();
            } else {
              a = await runA();
              v = await runV();
            }
            rounds.push({ vlmpipe: v, autocannon: a });
          }
          // One rate of every pass of a tool, rounded as recorded; the paired ratios are of those.
          const passes = (tool, rate) => rounds.map((x) => round(x[tool][rate], 0));
          const pairedRatios = (rate) => passes("vlmpipe", rate).map((v, i) => v / passes("autocannon", rate)[i]);
          // Each tool's best pass by its steady rate (the first of equals).
          const bestOf = (tool) =>
            rounds.map((x) => x[tool]).reduce((b, x) => (x.steadyRowsPerSecond > b.steadyRowsPerSecond ? x : b));
          const best = { vlmpipe: bestOf("vlmpipe"), autocannon: bestOf("autocannon") };
          const c = {
            rows: kind,
            stream,
            concurrency,
            n,
            request_kb: round(bodyBytes / 1024, 1),
            // The verdict: the median over the rounds of vlmpipe's steady rate (the last 80% of
            // the rows) over autocannon's in the same round. Single passes here move by up to
            // 1.6x; a median of paired passes is moved by neither one lucky or disturbed pass
            // nor a drift of the machine's speed.
            ratio: round(median(pairedRatios("steadyRowsPerSecond")), 3),
            // Every round's ratio, in turn: their spread is how far one run's verdict can move.
            paired_ratios: pairedRatios("steadyRowsPerSecond").map((x) => round(x, 3)),
            // The same median over the second half of each pass only (see windowRates).
            ratio_second_half: round(median(pairedRatios("secondHalfRowsPerSecond")), 3),
            // Each tool's best pass (steady rate), and their ratio.
            vlmpipe_rows_per_s: round(best.vlmpipe.steadyRowsPerSecond, 0),
            autocannon_rows_per_s: round(best.autocannon.steadyRowsPerSecond, 0),
            ratio_of_best: round(best.vlmpipe.steadyRowsPerSecond / best.autocannon.steadyRowsPerSecond, 3),
            // The whole window (first request in to N-th answer out) of the best passes.
            vlmpipe_whole_window_rows_per_s: round(best.vlmpipe.rowsPerSecond, 0),
            autocannon_whole_window_rows_per_s: round(best.autocannon.rowsPerSecond, 0),
            ratio_whole_window: round(best.vlmpipe.rowsPerSecond / best.autocannon.rowsPerSecond, 3),
            // The ramp: the first tenth of the rows.
            vlmpipe_first_tenth_rows_per_s: round(best.vlmpipe.firstTenthRowsPerSecond, 0),
            autocannon_first_tenth_rows_per_s: round(best.autocannon.firstTenthRowsPerSecond, 0),
            vlmpipe_end_to_end_rows_per_s: round(n / best.vlmpipe.wallSeconds, 0),
            // Every pass's rate, in turn, steady and whole window.
            vlmpipe_rows_per_s_passes: passes("vlmpipe", "steadyRowsPerSecond"),
            autocannon_rows_per_s_passes: passes("autocannon", "steadyRowsPerSecond"),
            vlmpipe_whole_window_rows_per_s_passes: passes("vlmpipe", "rowsPerSecond"),
            autocannon_whole_window_rows_per_s_passes: passes("autocannon", "rowsPerSecond"),
            // Inside the window (what competes with the simulator for the cores), then for the
            // whole process, start-up and (vlmpipe) the final reorder included.
            vlmpipe_window_cpu_ms_per_row: round((1000 * best.vlmpipe.windowCpuSeconds) / n, 3),
            autocannon_window_cpu_ms_per_row: round((1000 * best.autocannon.windowCpuSeconds) / n, 3),
            vlmpipe_cpu_ms_per_row: round((1000 * best.vlmpipe.cpuSeconds) / n, 3),
            autocannon_cpu_ms_per_row: round((1000 * best.autocannon.cpuSeconds) / n, 3),
            sim_cpu_ms_per_row_vlmpipe: round((1000 * best.vlmpipe.simCpuSeconds) / n, 3),
            sim_cpu_ms_per_row_autocannon: round((1000 * best.autocannon.simCpuSeconds) / n, 3),
            vlmpipe_peak_rss_mb: round(best.vlmpipe.peakMb, 0),
            autocannon_peak_rss_mb: round(best.autocannon.peakMb, 0),
          };
          c.met = c.ratio >= 0.9;
          log(`throughput ${kind} stream=${stream} c=${concurrency}: ${JSON.stringify(c)}`);
          cases.push(c);
        }
        await rm(bodiesFile, { force: true });
      }
    }
  } finally {
    await sim.stop();
  }
  const headline = cases.filter((c) => c.stream === true);
  return {
    image_megabytes: round(imageBytes / 2 ** 20, 2),
    latency_ms: 0,
    headline: "stream=true (vlmpipe's default, ++server.stream=true)",
    target: "vlmpipe rows/s >= 0.9 x autocannon's, same bodies, same concurrency, same simulator",
    rate: "steady: the last 80% of each pass's rows (the first tenth is the ramp); ratio: the median of the rounds' paired ratios; best passes and the whole window beside it",
    cases,
    met: headline.every((c) => c.met),
  };
}

async function runVlmpipe(sim, input, output, n, concurrency, stream) {
  const window = sim.window(n);
  const r = await measure(
    process.execPath,
    [...generateArgs({ input, output, url: sim.url, concurrency }), "--overwrite", `++server.stream=${stream}`],
    { traceCpu: true },
  );
  return figures(r, await window, n);
}

async function runAutocannon(sim, bodiesFile, n, concurrency) {
  const window = sim.window(n);
  const r = await measure(process.execPath, [AUTOCANNON_DRIVER, sim.url, bodiesFile, String(concurrency), String(n)], {
    stdout: "pipe",
    traceCpu: true,
  });
  const out = JSON.parse(r.stdout);
  if (out.non2xx || out.errors) throw new Error(`autocannon: ${out.non2xx} non-2xx answers, ${out.errors} errors`);
  return figures(r, await window, n);
}

function figures(r, w, n) {
  return {
    ...windowRates(w, n),
    wallSeconds: r.seconds,
    cpuSeconds: r.cpuSeconds,
    windowCpuSeconds: cpuBetween(r.cpuTrace, w.startMs, w.endMs),
    simCpuSeconds: w.simCpuSeconds,
    peakMb: r.peakMb,
  };
}

/** A 1 MB PNG (noise does not compress). */
async function makeImage(file) {
  const w = 600,
    h = 580;
  const raw = Buffer.alloc(w * h * 3);
  let seed = 7;
  for (let i = 0; i < raw.length; i++) raw[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const png = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
  await writeFile(file, png);
  return png.length;
}

/** `n` multiple-choice rows; `image(i)` is row i's image_path (null: a text-only row). */
export async function writeRows(file, n, image) {
  const lines = [];
  for (let i = 0; i < n; i++) {
    const problem =
      `Question ${i}: which of the following statements about the figure is correct? Consider the axes, ` +
      `the labels and the trend shown before you choose.\n\nA) It rises\nB) It falls\nC) It is flat\nD) It oscillates`;
    lines.push(JSON.stringify({ id: `q${i}`, problem, expected_answer: "B", image_path: image(i) }));
  }
  await writeFile(file, lines.join("\n") + "\n");
  return file;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = path.join(root, "bench", "out", "throughput");
  console.log(JSON.stringify(await benchThroughput({ dir, repeats: 1, log: (s) => console.error(s) }), null, 2));
}
