// Section 4: scoring and summarize_results at scale. `vlmpipe score` (the official MMMU-Pro
// parser, as the README's example) and `vlmpipe summarize_results` over 1,000,000 rows made
// of the MMMU-Pro authors' GPT-4o outputs repeated, next to a plain Node loop that reads,
// JSON.parses, JSON.stringifies and writes the same lines (the floor of any per-row JSON tool);
// then both on the 2 x 1,730 real rows, with their accuracy as a sanity check.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { bin, measure, root, round } from "./lib.mjs";

const DATA = path.resolve(root, "..", "shared", "data", "mmmu-pro-gpt4o");
const FILES = { vision: "gpt-4o_vision_cot.jsonl", "standard-10": "gpt-4o_standard-10-options_cot.jsonl" };
const SCORE_FLAGS = [
  "--eval_type",
  "mmmu-pro-official",
  "--generation_key",
  "response",
  "--expected_answer_key",
  "answer",
];

/** @param {{ dir: string, rows?: number, log?: (s: string) => void }} o */
export async function benchScoring({ dir, rows = 1_000_000, log = () => {} }) {
  await mkdir(dir, { recursive: true });
  const big = path.join(dir, "gpt4o-x.jsonl");
  const inputBytes = await writeBig(big, rows);
  log(`scoring: ${rows} rows, ${round(inputBytes / 2 ** 20, 0)} MB`);
  const results = path.join(dir, "results");
  const scored = path.join(results, "eval-results", "mmmu-pro", "output.jsonl");
  await mkdir(path.dirname(scored), { recursive: true });
  try {
    const floor = await measure(process.execPath, [
      path.join(root, "bench", "scoring.mjs"),
      "--roundtrip",
      big,
      path.join(dir, "roundtrip.jsonl"),
    ]);
    await rm(path.join(dir, "roundtrip.jsonl"), { force: true });
    const score = await measure(process.execPath, [
      bin,
      "score",
      "--input_file",
      big,
      "--output_file",
      scored,
      ...SCORE_FLAGS,
    ]);
    const summarize = await measure(
      process.execPath,
      [bin, "summarize_results", results, "--save_metrics_path", path.join(dir, "metrics-big.json")],
      { stdout: "pipe" },
    );

    // The real 2 x 1,730 rows: score each file, then one summarize over both benchmarks.
    const real = path.join(dir, "real");
    const t = { score_seconds: 0, score_peak_rss_mb: 0 };
    const accuracy = {};
    for (const [name, file] of Object.entries(FILES)) {
      const out = path.join(real, "eval-results", `mmmu-pro-${name}`, "output.jsonl");
      await mkdir(path.dirname(out), { recursive: true });
      const r = await measure(process.execPath, [
        bin,
        "score",
        "--input_file",
        path.join(DATA, file),
        "--output_file",
        out,
        ...SCORE_FLAGS,
      ]);
      t.score_seconds += r.seconds;
      t.score_peak_rss_mb = Math.max(t.score_peak_rss_mb, r.peakMb);
      accuracy[name] = Number(/symbolic_correct ([\d.]+)%/.exec(r.stderr)?.[1]);
    }
    const realMetrics = path.join(real, "metrics.json");
    const s2 = await measure(process.execPath, [bin, "summarize_results", real, "--save_metrics_path", realMetrics], {
      stdout: "pipe",
    });
    const metrics = JSON.parse(await readFile(realMetrics, "utf8"));
    return {
      rows,
      input_megabytes: round(inputBytes / 2 ** 20, 0),
      score: {
        seconds: round(score.seconds, 1),
        rows_per_s: round(rows / score.seconds, 0),
        peak_rss_mb: round(score.peakMb, 0),
        vs_json_roundtrip: round(floor.seconds / score.seconds, 2),
      },
      json_roundtrip: {
        seconds: round(floor.seconds, 1),
        rows_per_s: round(rows / floor.seconds, 0),
        peak_rss_mb: round(floor.peakMb, 0),
      },
      summarize: {
        seconds: round(summarize.seconds, 1),
        rows_per_s: round(rows / summarize.seconds, 0),
        peak_rss_mb: round(summarize.peakMb, 0),
      },
      gpt4o_2x1730: {
        score_seconds: round(t.score_seconds, 2),
        summarize_seconds: round(s2.seconds, 2),
        score_peak_rss_mb: round(t.score_peak_rss_mb, 0),
        accuracy_official_parser: accuracy,
        summarize_symbolic_correct: Object.fromEntries(
          Object.keys(FILES).map((n) => [n, round(metrics[`mmmu-pro-${n}`]?.["pass@1"]?.symbolic_correct, 2)]),
        ),
      },
    };
  } finally {
    await rm(big, { force: true });
    await rm(results, { recursive: true, force: true });
  }
}

/** `rows` lines cycling through both GPT-4o files, with subset_for_metrics = subject. */
async function writeBig(file, rows) {
  const lines = [];
  for (const f of Object.values(FILES)) {
    for (const l of (await readFile(path.join(DATA, f), "utf8")).split("\n")) {
      if (!l.trim()) continue;
      const j = JSON.parse(l);
      lines.push(JSON.stringify({ ...j, subset_for_metrics: j.subject }));
    }
  }
  const out = createWriteStream(file);
  for (let i = 0; i < rows; i += 1000) {
    const chunk = [];
    for (let k = i; k < Math.min(rows, i + 1000); k++) chunk.push(lines[k % lines.length]);
    if (!out.write(chunk.join("\n") + "\n")) await new Promise((r) => out.once("drain", r));
  }
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  return (await stat(file)).size;
}

/** The floor: read, parse, stringify, write every line (run in its own process). */
async function roundtrip(input, output) {
  const out = createWriteStream(output);
  let batch = [];
  for await (const line of createInterface({
    input: createReadStream(input, { highWaterMark: 1 << 20 }),
    crlfDelay: Infinity,
  })) {
    if (!line) continue;
    batch.push(JSON.stringify(JSON.parse(line)));
    if (batch.length === 1000) {
      if (!out.write(batch.join("\n") + "\n")) await new Promise((r) => out.once("drain", r));
      batch = [];
    }
  }
  out.write(batch.length ? batch.join("\n") + "\n" : "");
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === "--roundtrip") {
    await roundtrip(process.argv[3], process.argv[4]);
  } else {
    const rows = Number(process.argv[2] ?? 1_000_000);
    const dir = path.join(root, "bench", "out", "scoring");
    console.log(JSON.stringify(await benchScoring({ dir, rows, log: (s) => console.error(s) }), null, 2));
  }
}
