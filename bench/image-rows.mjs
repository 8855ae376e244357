// Image rows from files at the speed of the wire: `vlmpipe generate` and autocannon, whole
// processes, side by side against a zero-latency stub answering plain JSON (bench/stub-proc.mjs),
// `++server.stream=false`, concurrency 64. Two cases:
// - many rows, few images: 20,000 rows each showing one of 20 distinct ~100 KB PNGs (a
//   multi-seed eval is mostly repeats); autocannon sends the first row's body (built by
//   vlmpipe's own operators) 20,000 times, built once (with a body per request, autocannon
//   spends more CPU rebuilding requests than the wire takes: 226-502 rows/s here);
// - one 1 MB PNG in every row (as the throughput section's image rows).
// Beside them, with no verdict: vlmpipe's transport alone on the same body, and a hand-written
// client doing only a row's necessary work (bench/floor-client.mjs) over the same rows.
// Rows/s here are whole-process (rows / wall seconds from spawn to exit), start-up included for
// both tools. Rounds take turns, who goes first alternating; the verdict is the median of the
// rounds' paired ratios. Peak RSS is the kernel's VmHWM of vlmpipe's process.
//
//   npm run build && node bench/image-rows.mjs [rows] [rounds]
// (VLMPIPE_BIN=/other/dist/cli/main.js measures another build, e.g. the previous commit's.)
import { fork } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { requestBodies, writeBodies } from "./bodies.mjs";
import { generateArgs, measure, median, PROMPT, root, round, statCpuSeconds } from "./lib.mjs";
import { AUTOCANNON_DRIVER, writeRows } from "./throughput.mjs";

const CONCURRENCY = 64;

/**
 * @param {{ dir: string, rows?: number, bigRows?: number, rounds?: number, log?: (s: string) => void }} o
 */
export async function benchImageRows({ dir, rows = 20_000, bigRows = 2_000, rounds = 5, log = () => {} }) {
  await mkdir(path.join(dir, "images"), { recursive: true });
  const small = [];
  for (let i = 0; i < 20; i++) small.push(await noisePng(path.join(dir, "images", `img-${i}.png`), 186, 186, 11 + i));
  const big = await noisePng(path.join(dir, "images", "big.png"), 600, 580, 7);
  const stub = await startStub();
  const cases = [];
  try {
    const plans = [
      {
        name: "20 distinct ~100 KB PNGs",
        n: rows,
        imageKb: round(small.reduce((s, b) => s + b, 0) / small.length / 1024, 0),
        input: await writeRows(path.join(dir, "rows-small.jsonl"), rows, (i) => `images/img-${i % 20}.png`),
        warmInput: await writeRows(
          path.join(dir, "warm-small.jsonl"),
          Math.min(rows, 2000),
          (i) => `images/img-${i % 20}.png`,
        ),
        bodies: 1,
        rssTarget: true,
      },
      {
        name: "one 1 MB PNG",
        n: bigRows,
        imageKb: round(big / 1024, 0),
        input: await writeRows(path.join(dir, "rows-big.jsonl"), bigRows, () => "images/big.png"),
        warmInput: await writeRows(path.join(dir, "warm-big.jsonl"), Math.min(bigRows, 2000), () => "images/big.png"),
        bodies: 1,
      },
    ];
    for (const p of plans) {
      const bodies = await requestBodies({
        inputFile: p.input,
        promptConfig: PROMPT,
        model: "sim",
        overrides: { server: { stream: false } },
        count: p.bodies,
      });
      const bodiesFile = path.join(dir, "bodies.ndjson");
      await writeBodies(bodiesFile, bodies);
      // An untimed pass of each tool warms the stub and the page cache (node, the tools' own
      // files, the images): the first timed pass is then no colder than the others.
      await runAutocannon(stub.url, bodiesFile, Math.min(p.n, 2000));
      await runTransport(stub.url, bodiesFile, Math.min(p.n, 2000));
      await runVlmpipe(stub.url, p.input, path.join(dir, "out.jsonl"), Math.min(p.n, 2000));
      await runFloor(stub.url, bodiesFile, p.warmInput, path.join(dir, "floor.jsonl"));
      const passes = [];
      for (let r = 0; r < rounds; r++) {
        const v = () => stub.phases(p.n, () => runVlmpipe(stub.url, p.input, path.join(dir, "out.jsonl")));
        const a = () => stub.phases(p.n, () => runAutocannon(stub.url, bodiesFile, p.n));
        const pair = r % 2 === 0 ? { v: await v(), a: await a() } : { a: await a(), v: await v() };
        // vlmpipe's transport alone on the same body, for where the gap sits (no verdict).
        const t = await stub.phases(p.n, () => runTransport(stub.url, bodiesFile, p.n));
        // The floor: a client doing only what a row needs (no verdict).
        const f = await stub.phases(p.n, () => runFloor(stub.url, bodiesFile, p.input, path.join(dir, "floor.jsonl")));
        passes.push({ ...pair, t, f, load: os.loadavg()[0] });
      }
      const rate = (x) => p.n / x.seconds;
      const msPerRow = (seconds) => round(median(seconds.map((c) => (1000 * c) / p.n)), 3);
      const ratios = passes.map((x) => rate(x.v) / rate(x.a));
      const c = {
        case: p.name,
        rows: p.n,
        image_kb: p.imageKb,
        concurrency: CONCURRENCY,
        request_kb: round(bodies[0].length / 1024, 1),
        ratio: round(median(ratios), 3),
        paired_ratios: ratios.map((x) => round(x, 3)),
        vlmpipe_rows_per_s: passes.map((x) => round(rate(x.v), 0)),
        autocannon_rows_per_s: passes.map((x) => round(rate(x.a), 0)),
        vlmpipe_cpu_ms_per_row: msPerRow(passes.map((x) => x.v.cpuSeconds)),
        autocannon_cpu_ms_per_row: msPerRow(passes.map((x) => x.a.cpuSeconds)),
        // The same server work whoever sends: the tools differ by their own CPU, on two cores
        // they share with it.
        stub_cpu_ms_per_row: {
          vlmpipe: msPerRow(passes.map((x) => x.v.stubCpuSeconds)),
          autocannon: msPerRow(passes.map((x) => x.a.stubCpuSeconds)),
          transport: msPerRow(passes.map((x) => x.t.stubCpuSeconds)),
          floor: msPerRow(passes.map((x) => x.f.stubCpuSeconds)),
        },
        vlmpipe_peak_rss_mb: round(Math.max(...passes.map((x) => x.v.peakMb)), 0),
        autocannon_peak_rss_mb: round(Math.max(...passes.map((x) => x.a.peakMb)), 0),
        load_average: passes.map((x) => round(x.load, 1)),
        // Where each tool's wall time goes (medians, ms): spawn to the first answer, the first
        // tenth of the answers, the other nine tenths, the last answer to the process's exit.
        vlmpipe_phases_ms: medianPhases(passes.map((x) => x.v.phases)),
        autocannon_phases_ms: medianPhases(passes.map((x) => x.a.phases)),
        transport_rows_per_s: passes.map((x) => round(rate(x.t), 0)),
        transport_ratio: round(median(passes.map((x) => rate(x.t) / rate(x.a))), 3),
        transport_phases_ms: medianPhases(passes.map((x) => x.t.phases)),
        transport_cpu_ms_per_row: msPerRow(passes.map((x) => x.t.cpuSeconds)),
        floor_rows_per_s: passes.map((x) => round(rate(x.f), 0)),
        floor_ratio: round(median(passes.map((x) => rate(x.f) / rate(x.a))), 3),
        floor_phases_ms: medianPhases(passes.map((x) => x.f.phases)),
        floor_cpu_ms_per_row: msPerRow(passes.map((x) => x.f.cpuSeconds)),
      };
      c.met = c.ratio >= 0.9 && (!p.rssTarget || c.vlmpipe_peak_rss_mb <= 150);
      log(`image rows ${p.name}: ${JSON.stringify(c)}`);
      cases.push(c);
      await rm(bodiesFile, { force: true });
    }
  } finally {
    await stub.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return {
    target: "whole-process rows/s >= 0.9 x autocannon's (20 distinct images: and peak RSS <= 150 MB)",
    stream: false,
    cases,
    met: cases.every((c) => c.met),
  };
}

async function runVlmpipe(url, input, output, maxSamples) {
  return measure(process.execPath, [
    ...generateArgs({ input, output, url, concurrency: CONCURRENCY }),
    "--overwrite",
    "++server.stream=false",
    ...(maxSamples ? [`++max_samples=${maxSamples}`] : []),
  ]);
}

async function runAutocannon(url, bodiesFile, n) {
  const r = await measure(process.execPath, [AUTOCANNON_DRIVER, url, bodiesFile, String(CONCURRENCY), String(n)], {
    stdout: "pipe",
  });
  const out = JSON.parse(r.stdout);
  if (out.non2xx || out.errors) throw new Error(`autocannon: ${out.non2xx} non-2xx answers, ${out.errors} errors`);
  return r;
}

/**
 * vlmpipe's transport alone (bench/layers-driver.mjs, `transport`: request encoding with the
 * image literal, the HTTP/1.1 pool, the answer's parse) sending the same body: no rows read,
 * no prompt, no output file.
 */
async function runTransport(url, bodiesFile, n) {
  return measure(
    process.execPath,
    [path.join(root, "bench", "layers-driver.mjs"), url, bodiesFile, String(CONCURRENCY), String(n), "transport"],
    { stdout: "pipe" },
  );
}

/** bench/floor-client.mjs over the same rows, the first row's body as its template. */
async function runFloor(url, bodiesFile, input, output) {
  return measure(
    process.execPath,
    [path.join(root, "bench", "floor-client.mjs"), url, bodiesFile, input, output, String(CONCURRENCY)],
    { stdout: "pipe" },
  );
}

function medianPhases(list) {
  const keys = ["to_first_answer", "first_tenth", "other_nine_tenths", "last_answer_to_exit"];
  return Object.fromEntries(keys.map((k) => [k, round(median(list.map((p) => p[k])), 0)]));
}

function startStub() {
  const child = fork(path.join(root, "bench", "stub-proc.mjs"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  /** Runs `pass` (a tool's whole process, n answers) and adds when its answers went out. */
  const phases = async (n, pass) => {
    child.send({ expect: n });
    const stubCpu0 = statCpuSeconds(`/proc/${child.pid}/stat`);
    const spawned = Date.now();
    const r = await pass();
    const exited = Date.now();
    const stubCpuSeconds = statCpuSeconds(`/proc/${child.pid}/stat`) - stubCpu0;
    child.send({ marks: true });
    const { marks: m } = await new Promise((res) => child.once("message", res));
    return {
      ...r,
      stubCpuSeconds,
      phases: {
        to_first_answer: m.first - spawned,
        first_tenth: m.tenth - m.first,
        other_nine_tenths: m.last - m.tenth,
        last_answer_to_exit: exited - m.last,
      },
    };
  };
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`stub-proc exited ${code}`)));
    child.once("message", (m) =>
      resolve({
        url: m.url,
        phases,
        stop: () =>
          new Promise((r) => {
            if (child.exitCode !== null) r();
            else {
              child.once("exit", r);
              child.kill("SIGTERM");
            }
          }),
      }),
    );
  });
}

/** A PNG of noise (it does not compress): w x h x 3 bytes and a little more. Returns its size. */
async function noisePng(file, w, h, seed) {
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const png = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
  await writeFile(file, png);
  return png.length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rows, rounds] = process.argv.slice(2).map(Number);
  const dir = path.join(root, "bench", "out", "image-rows");
  const r = await benchImageRows({
    dir,
    rows: rows || undefined,
    rounds: rounds || undefined,
    log: (s) => console.error(s),
  });
  console.log(JSON.stringify(r, null, 2));
}
