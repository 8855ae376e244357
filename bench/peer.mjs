// Section 6: a peer, side by side. promptfoo (npm, installed on demand into bench/.peers)
// evaluating the same rows with images (the same prompt text and image bytes, each row as one
// chat request with the image first) against the same simulator at the same concurrency,
// next to `vlmpipe generate`: wall time and peak RSS of each, in the same run, taking turns.
// promptfoo's OpenAI provider does not stream; vlmpipe is shown both streaming (its default)
// and not.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { generateArgs, measure, root, round, startSimProc } from "./lib.mjs";

const PROMPTFOO = path.join(root, "bench", ".peers", "node_modules", "promptfoo", "dist", "src", "main.js");
// prompts/vlm/mmmu-pro.yaml's user text, so both tools send the same words.
const USER =
  "Answer the following multiple choice question. The last line of your response should be in the following format: " +
  "'Answer: A/B/C/D/E/F/G/H/I/J' (e.g. 'Answer: A').\n\n";

/** @param {{ dir: string, rows?: number, concurrency?: number, repeats?: number, log?: (s: string) => void }} o */
export async function benchPeer({ dir, rows = 2000, concurrency = 64, repeats = 2, log = () => {} }) {
  await mkdir(path.join(dir, "images"), { recursive: true });
  const imageBytes = await makeImages(path.join(dir, "images"));
  const problems = [];
  const lines = [];
  const tests = [];
  for (let i = 0; i < rows; i++) {
    const problem = `Question ${i}: what does the chart show?\n\nA) growth\nB) decline\nC) no change\nD) a cycle`;
    const image = `images/${i % 8}.png`;
    problems.push(problem);
    lines.push(JSON.stringify({ id: i, problem, expected_answer: "B", image_path: image }));
    tests.push(JSON.stringify({ vars: { problem, image: `file://${image}` } }));
  }
  const input = path.join(dir, "rows.jsonl");
  await writeFile(input, lines.join("\n") + "\n");
  await writeFile(path.join(dir, "tests.jsonl"), tests.join("\n") + "\n");
  await writeFile(
    path.join(dir, "prompt.cjs"),
    `// The same chat request as vlmpipe's prompts/vlm/mmmu-pro.yaml: the image, then the text.
module.exports = ({ vars }) => [
  { role: "user", content: [
    { type: "image_url", image_url: { url: "data:image/png;base64," + vars.image } },
    { type: "text", text: ${JSON.stringify(USER)} + vars.problem },
  ] },
];
`,
  );
  const sim = await startSimProc({ latency_ms: 0 });
  try {
    await writeFile(
      path.join(dir, "promptfooconfig.yaml"),
      [
        "description: vlmpipe bench peer",
        "prompts: [file://prompt.cjs]",
        "providers:",
        "  - id: openai:chat:sim",
        "    config:",
        `      apiBaseUrl: ${sim.url}/v1`,
        "      apiKey: sk-bench",
        "      temperature: 0",
        "      top_p: 0.95",
        "      seed: 0",
        "tests: file://tests.jsonl",
        "",
      ].join("\n"),
    );
    const env = {
      ...process.env,
      PROMPTFOO_DISABLE_TELEMETRY: "1",
      PROMPTFOO_DISABLE_UPDATE: "1",
      PROMPTFOO_CONFIG_DIR: path.join(dir, ".promptfoo"),
      PROMPTFOO_CACHE_ENABLED: "false",
    };
    const runs = { vlmpipe_stream: [], vlmpipe_no_stream: [], promptfoo: [] };
    for (let r = 0; r < repeats; r++) {
      for (const stream of [true, false]) {
        const v = await measure(process.execPath, [
          ...generateArgs({ input, output: path.join(dir, "vlmpipe-out.jsonl"), url: sim.url, concurrency }),
          "--overwrite",
          `++server.stream=${stream}`,
        ]);
        runs[stream ? "vlmpipe_stream" : "vlmpipe_no_stream"].push(v);
      }
      const p = await measure(
        process.execPath,
        [
          PROMPTFOO,
          "eval",
          "-c",
          "promptfooconfig.yaml",
          "--no-cache",
          "--no-table",
          "--no-progress-bar",
          "--no-write",
          "-j",
          String(concurrency),
          "-o",
          "promptfoo-out.jsonl",
        ],
        { cwd: dir, env, allowFailure: true },
      );
      // promptfoo exits 100 when a test "fails"; there are no assertions here, so any other
      // non-zero code is a real failure.
      if (p.code !== 0 && p.code !== 100) throw new Error(`promptfoo exited ${p.code}: ${p.stderr}`);
      runs.promptfoo.push(p);
      log(
        `peer pass ${r + 1}: vlmpipe ${round(runs.vlmpipe_stream.at(-1).seconds, 1)} s, promptfoo ${round(p.seconds, 1)} s`,
      );
    }
    const best = (xs) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const fig = (x) => ({
      seconds: round(x.seconds, 1),
      rows_per_s: round(rows / x.seconds, 0),
      peak_rss_mb: round(x.peakMb, 0),
      cpu_seconds: round(x.cpuSeconds, 1),
    });
    const v = best(runs.vlmpipe_stream);
    const vn = best(runs.vlmpipe_no_stream);
    const p = best(runs.promptfoo);
    return {
      rows,
      concurrency,
      image_kb: round(imageBytes / 8 / 1024, 0),
      latency_ms: 0,
      vlmpipe: fig(v),
      vlmpipe_no_stream: fig(vn),
      promptfoo: fig(p),
      promptfoo_version: "0.115.0",
      wall_ratio_promptfoo_over_vlmpipe: round(p.seconds / v.seconds, 2),
      rss_ratio_promptfoo_over_vlmpipe: round(p.peakMb / v.peakMb, 2),
    };
  } finally {
    await sim.stop();
  }
}

/** Eight distinct ~100 KB PNGs (noise over a gradient: they do not compress much). */
async function makeImages(dir) {
  let total = 0;
  for (let i = 0; i < 8; i++) {
    const w = 200,
      h = 180;
    const raw = Buffer.alloc(w * h * 3);
    let seed = i + 1;
    for (let j = 0; j < raw.length; j++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      raw[j] = ((j % 600) / 3 + (seed >>> 26)) & 255;
    }
    const png = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toBuffer();
    await writeFile(path.join(dir, `${i}.png`), png);
    total += png.length;
  }
  return total;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = path.join(root, "bench", "out", "peer");
  const rows = Number(process.argv[2] ?? 2000);
  console.log(JSON.stringify(await benchPeer({ dir, rows, repeats: 1, log: (s) => console.error(s) }), null, 2));
}
