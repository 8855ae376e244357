import { spawn, spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { binPath, repoRoot, waitExit } from "../helpers/bin.js";
import { cli, tempDir } from "../helpers/dataset.js";

// Mistakes that used to look like success (0.00% with exit 0, NaN flags, rows failing one by
// one) are refused up front with exit 2 and a message that says what to type.

let sim: SimServer;
let dir: string;
beforeAll(async () => {
  sim = await startSimServer({ model: "sim", record_requests: true });
  dir = await tempDir();
});
afterAll(() => sim.close());

const generate = (input: string, out: string, extra: string[] = []) => [
  "generate",
  "--input_file",
  input,
  "--output_file",
  out,
  "--prompt_config",
  "vlm/mmmu-pro",
  "--model",
  "sim",
  "--server_address",
  `${sim.url}/v1`,
  "--quiet",
  ...extra,
];

describe("score: keys absent from the rows", () => {
  const scored = JSON.stringify({ id: 1, response: "Answer: B", answer: "B" });

  it.each([
    ["--generation_key", "generation", ["--expected_answer_key", "answer"]],
    ["--generation_key", "gen", ["--generation_key", "gen", "--expected_answer_key", "answer"]],
    ["--expected_answer_key", "expected_answer", ["--generation_key", "response"]],
  ])("%s %s: exit 2 naming the fields the rows have, no output", async (flag, key, extra) => {
    const input = path.join(dir, `scored-${key}.jsonl`);
    await writeFile(input, `${scored}\n`);
    const out = path.join(dir, `scored-${key}-out.jsonl`);
    const r = await cli(["score", "--input_file", input, "--output_file", out, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `vlmpipe: ${flag} ${key}: no such field in the rows (the first row has: id, response, answer)`,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith(`scored-${key}-out`))).toEqual([]);
  });

  it("the right keys still score", async () => {
    const input = path.join(dir, "scored-ok.jsonl");
    await writeFile(input, `${scored}\n`);
    const r = await cli([
      "score",
      "--input_file",
      input,
      "--output_file",
      "-",
      "--generation_key",
      "response",
      "--expected_answer_key",
      "answer",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/symbolic_correct 100.00%/);
  });
});

describe("++ overrides a command does not use", () => {
  it.each([
    ["summarize_results", () => [dir], "++bogus=3"],
    ["report", () => [dir], "++bogus=2"],
    ["prepare_data", () => ["nope", "--data_dir", dir], "++max_samples=5"],
    // (a bad --accuracy: before overrides were refused, the server would have started and served)
    ["sim-server", () => ["--port", "0", "--accuracy", "2"], "++bogus=1"],
  ])("%s: exit 2 naming the command, instead of ignoring them", async (command, more, override) => {
    const r = await cli([command, ...more(), override]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `vlmpipe: ${command} takes no ++ overrides (got ${override}): its settings are flags, see vlmpipe ${command} --help`,
    );
  });

  it("score takes the first ++max_samples rows, as generate does (0: every row)", async () => {
    const input = path.join(dir, "score-max.jsonl");
    const rows = ["A", "B", "C"].map((x, i) =>
      JSON.stringify({ id: i, generation: `Answer: ${x}`, expected_answer: x }),
    );
    await writeFile(input, `${rows.join("\n")}\n`);
    const ids = async (...over: string[]) => {
      const r = await cli(["score", "--input_file", input, "--output_file", "-", ...over]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { id: number }).id);
    };
    expect(await ids("++max_samples=1")).toEqual([0]);
    expect(await ids("++max_samples=2")).toEqual([0, 1]);
    expect(await ids("++max_samples=0")).toEqual([0, 1, 2]);
    expect(await ids()).toEqual([0, 1, 2]);
  });
});

describe("generate: a prompt that cannot render the first row", () => {
  it.each([
    [
      "a placeholder",
      { question: "q", image_path: null },
      /needs field "problem" but row 0 has none \(fields: question, image_path\)/,
    ],
    ["the image field", { problem: "q" }, /row 0 has no field "image_path".* \(the row has: problem\)/],
  ])("missing %s: exit 2 before any request", async (_what, row, message) => {
    const input = path.join(dir, `render-${Object.keys(row).join("-")}.jsonl`);
    await writeFile(input, `${JSON.stringify(row)}\n${JSON.stringify({ problem: "fine", image_path: null })}\n`);
    const from = sim.requests.length;
    const r = await cli(generate(input, path.join(dir, "render-out.jsonl")));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^vlmpipe: the prompt config .*mmmu-pro\.yaml cannot render the first row of /);
    expect(r.stderr).toMatch(message);
    expect(sim.requests.length).toBe(from);
  });
});

describe("numeric flags are validated", () => {
  const input = "unused.jsonl";
  const gen = (flag: string, v: string) => [...generate(input, "out.jsonl"), flag, v];
  const evalArgs = (flag: string, v: string) => [
    "eval",
    "--benchmarks",
    "mmmu-pro",
    "--model",
    "m",
    "--server_type",
    "sim",
    "--data_dir",
    "d",
    "--output_dir",
    "o",
    flag,
    v,
  ];
  it.each([
    ["--max_failures", "-3", "a whole number, 0 or more", gen],
    ["--progress_seconds", "abc", "a number of seconds, 0 or more", gen],
    ["--max_concurrent_requests", "0", "a positive whole number", gen],
    ["--max_concurrent_requests", "2.5", "a positive whole number", gen],
    ["--sim_accuracy", "1.5", "a probability between 0 and 1", gen],
    ["--sim_latency_ms", "soon", "milliseconds, 0 to 2147483000 (24.8 days, the longest wait a Node timer takes)", gen],
    [
      "--sim_token_delay_ms",
      "3e9",
      "milliseconds, 0 to 2147483000 (24.8 days, the longest wait a Node timer takes)",
      gen,
    ],
    ["--sim_seed", "x", "a whole number", gen],
    ["--progress_seconds", "-1", "a number of seconds, 0 or more", evalArgs],
    // Past a Node timer's limit a progress line came every millisecond (TimeoutOverflowWarning).
    ["--progress_seconds", "1e10", `at most 2147483 seconds (24.8 days, the longest wait a Node timer takes)`, gen],
    [
      "--progress_seconds",
      "2147484",
      `at most 2147483 seconds (24.8 days, the longest wait a Node timer takes)`,
      evalArgs,
    ],
    ["--num_chunks", "0", "a positive whole number", evalArgs],
  ])("%s %s is refused", async (flag, value, takes, args) => {
    const r = await cli(args(flag, value));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`vlmpipe: ${flag} takes ${takes}, got "${value}"`);
  });
});

describe("overrides that name an object's prototype", () => {
  it.each(["++inference.__proto__.temperature=5", "++__proto__.x=1", "++constructor.prototype.x=1"])(
    "%s: exit 2, an unknown key, and no object of the process changed",
    async (arg) => {
      const r = await cli([...generate("x.jsonl", "o.jsonl"), arg]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^vlmpipe: unknown key \+\+(inference\.)?(__proto__|constructor) in "/);
      expect(({} as Record<string, unknown>).temperature).toBeUndefined();
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    },
  );
});

describe("overrides with a + too few", () => {
  it.each(["+inference.temperature=0", "inference.temperature=0", "+max_samples=3"])(
    "%s: did you mean ++...?",
    async (arg) => {
      const r = await cli([...generate("x.jsonl", "o.jsonl"), arg]);
      expect(r.code).toBe(2);
      const fixed = `++${arg.replace(/^\+/, "")}`;
      expect(r.stderr.trim()).toBe(
        `vlmpipe: "${arg}" is not understood: did you mean ${fixed}? (overrides start with ++)`,
      );
    },
  );
});

const hasJq = spawnSync("jq", ["--version"]).status === 0;

describe("README: the pipe example", () => {
  it.skipIf(!hasJq)("works as written from the repository's folder (a simulator in place of the server)", async () => {
    const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Pipes"));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] as string;
    expect(block).toMatch(/set -o pipefail/);
    const script = block
      .replaceAll("vlmpipe ", `${JSON.stringify(process.execPath)} ${JSON.stringify(binPath)} `)
      .replace("--model M --server_address http://127.0.0.1:8000/v1", `--model sim --server_address ${sim.url}/v1`);
    // (Not spawnSync: the simulator answers from this process's event loop.)
    const child = spawn("bash", ["-c", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    const r = await waitExit(child);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(60);
    expect(Object.keys(lines[0] ?? {})).toEqual(["id", "predicted_answer", "symbolic_correct"]);
  });
});
