// Image stage benchmark: images/second of resolveImage's encode paths next to sharp's own raw
// throughput on the same files, and the image cache of a real 4-seed `vlmpipe eval` (one job
// process per seed, verdicts shared through <output_dir>/image-cache).
//
//   npx tsc -p tsconfig.json && node bench/images.mjs
//
// or from another script: `const figures = await benchImages({ dist: "/abs/path/dist" })`.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import sharp from "sharp";

/** Sizes cycled through to make the set: thumbnails to 2000x2000 scans, mixed aspect ratios. */
const SIZES = [
  [256, 256],
  [640, 480],
  [1024, 768],
  [800, 1200],
  [1600, 1200],
  [2000, 2000],
  [1280, 720],
  [300, 1800],
];

/**
 * @param {{ dist: string, count?: number, concurrency?: number, seeds?: number, repeats?: number }} opts
 *   dist: absolute path of the compiled dist/ folder.
 * @returns {Promise<Record<string, unknown>>} plain figures and ratios
 */
export async function benchImages({ dist, count = 40, concurrency = 4, seeds = 4, repeats = 2 }) {
  const { resolveImage } = await import(pathToFileURL(path.join(dist, "images/resolve-image.js")).href);
  const { ImageOptionsSchema } = await import(pathToFileURL(path.join(dist, "images/options.js")).href);

  const dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-bench-images-"));
  try {
    const files = await makeSet(dir, count);
    const inputs = await Promise.all(files.map((f) => readFile(f)));
    const inputBytes = inputs.reduce((n, b) => n + b.length, 0);
    // base64 length of each file as it is: a data URL payload of another length was re-encoded.
    const originalLengths = inputs.map((b) => 4 * Math.ceil(b.length / 3));
    const ours = (over) => {
      const options = ImageOptionsSchema.parse(over);
      return (f) => resolveImage(f, { baseDir: dir, options });
    };

    // Warm up sharp/libvips (first-call initialisation) and the file cache.
    await run(files.slice(0, 4), concurrency, ours({ encode: "png" }));
    await run(files, concurrency, (f) => readFile(f));

    // Every path runs `repeats` times, all paths taking turns, and keeps its best pass: on a
    // shared machine the best pass is the least disturbed one, and taking turns spreads any
    // load from elsewhere over our paths and sharp's alike.
    // png/jpeg: what a run with `encode: png|jpeg` does; inputs already in that format go out
    // untouched (half the set). png_all/jpeg_all force every image through the encoder (no
    // format is kept), which is the like-for-like comparison with sharp alone.
    const cases = {
      keep: [ours({})],
      keep_verify_header: [ours({ verify: "header" })],
      png: [ours({ encode: "png" })],
      jpeg: [ours({ encode: "jpeg" })],
      png_all: [ours({ encode: "png", keep_formats: [] }), true],
      jpeg_all: [ours({ encode: "jpeg", keep_formats: [] }), true],
      jpeg_max_pixels_1M: [ours({ encode: "jpeg", max_pixels: 1_000_000 })],
      // The floor for "keep": read the file and base64 it, no check at all.
      read_base64: [async (f) => (await readFile(f)).toString("base64")],
      // What verify: decode costs on its own.
      sharp_decode_only: [(f) => sharp(f).resize(32, 32, { fit: "inside" }).raw().toBuffer()],
      sharp_png: [(f) => sharp(f).png().toBuffer(), true],
      sharp_jpeg: [(f) => sharp(f).jpeg({ quality: 90 }).toBuffer(), true],
    };
    const fig = {};
    for (let i = 0; i < repeats; i++) {
      for (const [name, [fn, watchLoop]] of Object.entries(cases)) {
        const r = await timed(files, concurrency, fn, watchLoop, originalLengths);
        if (!fig[name] || r.imagesPerSecond > fig[name].imagesPerSecond) fig[name] = r;
      }
    }
    const paths = {
      keep: fig.keep,
      keep_verify_header: fig.keep_verify_header,
      png: fig.png,
      jpeg: fig.jpeg,
      png_all: fig.png_all,
      jpeg_all: fig.jpeg_all,
      jpeg_max_pixels_1M: fig.jpeg_max_pixels_1M,
    };
    const raw = {
      read_base64: fig.read_base64,
      sharp_decode_only: fig.sharp_decode_only,
      sharp_png: fig.sharp_png,
      sharp_jpeg: fig.sharp_jpeg,
    };

    // A real 4-seed eval of the same images (simulator in process, one job per seed, one
    // after another): how many were checked, and where the rest came from.
    const cache = await fourSeedEval(dist, dir, files, seeds);

    const rate = (x) => x.imagesPerSecond;
    return {
      images: files.length,
      input_megabytes: round(inputBytes / 2 ** 20),
      concurrency,
      sharp_concurrency: sharp.concurrency(),
      cpus: availableParallelism(),
      images_per_second: Object.fromEntries(Object.entries({ ...paths, ...raw }).map(([k, v]) => [k, rate(v)])),
      output_megabytes: Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, v.outputMegabytes])),
      // Images whose bytes changed (the rest were sent as they are on disk).
      reencoded: Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, v.changed])),
      // Worst event-loop stall while encoding; compare with sharp alone on the same files (on a
      // 2-CPU box most of it is the main thread waiting for a CPU, not blocking work).
      event_loop_delay_max_ms: {
        png_all: paths.png_all.eventLoopDelayMaxMs,
        jpeg_all: paths.jpeg_all.eventLoopDelayMaxMs,
        sharp_png: raw.sharp_png.eventLoopDelayMaxMs,
        sharp_jpeg: raw.sharp_jpeg.eventLoopDelayMaxMs,
      },
      ratios: {
        keep_vs_read_base64: round(rate(paths.keep) / rate(raw.read_base64)),
        keep_vs_sharp_decode_only: round(rate(paths.keep) / rate(raw.sharp_decode_only)),
        png_all_vs_sharp_png: round(rate(paths.png_all) / rate(raw.sharp_png)),
        jpeg_all_vs_sharp_jpeg: round(rate(paths.jpeg_all) / rate(raw.sharp_jpeg)),
      },
      cache_4_seeds: cache,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `vlmpipe eval --benchmarks mmmu-pro:<seeds>` over rows that each show one of `files`, read
 * back from each job's log line "images: N resolved: M from memory, D from the disk cache,
 * C checked".
 */
async function fourSeedEval(dist, dir, files, seeds) {
  const { runCli } = await import(pathToFileURL(path.join(dist, "cli/run-cli.js")).href);
  const dataDir = path.join(dir, "data");
  const outDir = path.join(dir, "eval");
  await mkdir(path.join(dataDir, "mmmu-pro"), { recursive: true });
  const letters = "ABCDEFGHIJ";
  const rows = files.map((f, i) => ({
    id: `bench_${i}`,
    problem: `Question ${i}\n\n${[...letters].map((l) => `${l}) option ${l}`).join("\n")}`,
    options: [...letters].map((l) => `option ${l}`),
    image_path: f,
    expected_answer: letters[i % 10],
    subset_for_metrics: "Bench",
    subject: "Bench",
  }));
  await writeFile(path.join(dataDir, "mmmu-pro", "test.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const sink = { write: () => true };
  const t0 = performance.now();
  const code = await runCli(
    [
      "eval",
      "--benchmarks",
      `mmmu-pro:${seeds}`,
      "--model",
      "sim",
      "--server_type",
      "sim",
      "--data_dir",
      dataDir,
      "--output_dir",
      outDir,
      "--quiet",
    ],
    { stdout: sink, stderr: sink },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`4-seed eval exited ${code}; see ${outDir}/eval-logs`);
  const jobs = [];
  for (let seed = 0; seed < seeds; seed++) {
    const log = await readFile(path.join(outDir, "eval-logs", `mmmu-pro-output-rs${seed}.log`), "utf8");
    const m = /images: (\d+) resolved: (\d+) from memory, (\d+) from the disk cache, (\d+) checked/.exec(log);
    if (!m) throw new Error(`no images line in the rs${seed} log`);
    const [resolved, memory, disk, checked] = m.slice(1).map(Number);
    jobs.push({ resolved, memory, disk, checked });
  }
  const sum = (k) => jobs.reduce((n, j) => n + j[k], 0);
  return {
    seeds,
    distinct_images: files.length,
    requests: sum("resolved"),
    checked_with_sharp: sum("checked"),
    from_memory: sum("memory"),
    from_disk_cache: sum("disk"),
    hit_rate: round((sum("memory") + sum("disk")) / sum("resolved")),
    per_job: jobs,
    eval_seconds: round(seconds),
  };
}

/** `count` images made with sharp: smooth gradients, shapes and mild noise, half PNG, half JPEG. */
async function makeSet(dir, count) {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  const files = [];
  for (let i = 0; i < count; i++) {
    const [w, h] = SIZES[i % SIZES.length];
    const raw = Buffer.alloc(w * h * 3);
    const cx = rnd() * w,
      cy = rnd() * h,
      r2 = (Math.min(w, h) / 3) ** 2;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < r2;
        const n = (rnd() * 24) | 0;
        raw[o] = inside ? 220 : ((x * 255) / w + n) & 255;
        raw[o + 1] = inside ? 40 + n : ((y * 255) / h + n) & 255;
        raw[o + 2] = ((x + y) & 64 ? 180 : 60) + n;
      }
    const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
    const png = i % 2 === 0;
    const file = path.join(dir, `img-${String(i).padStart(2, "0")}.${png ? "png" : "jpg"}`);
    await writeFile(file, await (png ? img.png() : img.jpeg({ quality: 85 })).toBuffer());
    files.push(file);
  }
  return files;
}

/** Runs fn over items with at most `n` in flight; returns the results in order. */
async function run(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

async function timed(files, n, fn, watchLoop = false, originalLengths = []) {
  const h = watchLoop ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
  h?.enable();
  const t0 = performance.now();
  const results = await run(files, n, fn);
  const seconds = (performance.now() - t0) / 1000;
  h?.disable();
  const outBytes = results.reduce((s, r) => s + (typeof r === "string" ? r.length : (r?.length ?? 0)), 0);
  const changed = results.filter(
    (r, i) => typeof r === "string" && r.startsWith("data:") && r.length - r.indexOf(",") - 1 !== originalLengths[i],
  ).length;
  return {
    imagesPerSecond: round(files.length / seconds),
    changed,
    outputMegabytes: round(outBytes / 2 ** 20),
    eventLoopDelayMaxMs: h ? round(h.max / 1e6) : undefined,
  };
}

function round(x) {
  return Math.round(x * 100) / 100;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist");
  console.log(JSON.stringify(await benchImages({ dist }), null, 2));
}
