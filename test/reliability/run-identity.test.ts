import { cp, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

// A rerun is either provably the same run (same settings, the same input rows at the
// positions it holds) and resumes or skips, or it is refused before any request (exit 2),
// saying what differs and which flag discards the output.

const N = 120;
let sim: SimServer;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;
const lines = () => data.rows.map((r) => JSON.stringify(r));

const args = (input: string, out: string, ...more: string[]) => [
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
  "--max_concurrent_requests",
  "8",
  "--quiet",
  "--eval_type",
  "multichoice",
  ...more,
];

async function lineCount(file: string): Promise<number> {
  try {
    return (await readFile(file, "utf8")).split("\n").length - 1;
  } catch {
    return 0;
  }
}

/** A partial output: the run is killed once its partial file holds `n` lines. */
async function partialRun(input: string, out: string, n: number): Promise<void> {
  const child = spawnCli(args(input, out));
  const exit = waitExit(child);
  while (child.exitCode === null && (await lineCount(`${out}-async`)) < n) await new Promise((r) => setTimeout(r, 2));
  child.kill("SIGKILL");
  await exit;
  expect(await lineCount(`${out}-async`)).toBeLessThan(N);
}

async function input(name: string, rows: string[]): Promise<string> {
  const f = path.join(dir, name);
  await writeFile(f, rows.join("\n") + "\n");
  return f;
}

beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, N, { images: false });
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 0.5, latency_ms: 5 });
});
afterAll(() => sim.close());

describe("generate: the input rows of a rerun", () => {
  it("refuses a reordered input after an interruption, naming the first differing line and both files, before any request", async () => {
    const file = await input("rev-in.jsonl", lines());
    const out = path.join(dir, "rev", "output.jsonl");
    await partialRun(file, out, 30);
    await writeFile(file, lines().reverse().join("\n") + "\n");
    const before = sim.stats.chat;
    const r = await cli(args(file, out));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, "\\.")} line \\d+ is not the row ${out}-async holds`));
    expect(r.stderr).toMatch(/edited, reordered or had rows removed[\s\S]*--overwrite/);
    expect(sim.stats.chat).toBe(before);
    const again = await cli(args(file, out, "--overwrite"));
    expect(again.code, again.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8")).map((x) => x.id)).toEqual([...data.rows].reverse().map((x) => x.id));
  });

  it("refuses a finished output whose input row was edited (no longer 'already complete')", async () => {
    const file = await input("edit-in.jsonl", lines());
    const out = path.join(dir, "edit", "output.jsonl");
    expect((await cli(args(file, out))).code).toBe(0);
    const edited = lines();
    edited[41] = edited[41]!.replace('"expected_answer":"B"', '"expected_answer":"C"');
    await writeFile(file, edited.join("\n") + "\n");
    const r = await cli(args(file, out));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${file} line 42 is not the row ${out} holds for it`);
  });

  it("refuses an input that lost rows from its end", async () => {
    const file = await input("cut-in.jsonl", lines());
    const out = path.join(dir, "cut", "output.jsonl");
    expect((await cli(args(file, out))).code).toBe(0);
    await writeFile(file, lines().slice(0, 100).join("\n") + "\n");
    const r = await cli(args(file, out));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/has 100 rows, but .* holds row 101 of an earlier run: rows were removed/);
  });

  it("does the rows appended to the input of a finished output, says so, and ends with each row once", async () => {
    const file = await input("grow-in.jsonl", lines().slice(0, 80));
    const out = path.join(dir, "grow", "output.jsonl");
    expect((await cli(args(file, out))).code).toBe(0);
    await writeFile(file, lines().join("\n") + "\n");
    const before = sim.stats.chat;
    const r = await cli(args(file, out));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/has rows after its last: doing them/);
    expect(sim.stats.chat - before).toBe(40);
    expect(parseLines(await readFile(out, "utf8")).map((x) => x.id)).toEqual(data.rows.map((x) => x.id));
  });

  it("does rows appended to the input of a partial output and says how many", async () => {
    const file = await input("grow2-in.jsonl", lines().slice(0, 90));
    const out = path.join(dir, "grow2", "output.jsonl");
    await partialRun(file, out, 20);
    await writeFile(file, lines().join("\n") + "\n");
    const r = await cli(args(file, out));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming .*: \d+ rows done, \d+ to retry; 30 rows appended to .* since are done too/);
    expect(parseLines(await readFile(out, "utf8")).map((x) => x.id)).toEqual(data.rows.map((x) => x.id));
  });

  it("takes ++max_samples=0 as every row: a rerun of an unlimited run with it is that run, and does the rows appended since", async () => {
    const file = await input("all-in.jsonl", lines().slice(0, 80));
    const out = path.join(dir, "all", "output.jsonl");
    expect((await cli(args(file, out))).code).toBe(0);
    await writeFile(file, lines().join("\n") + "\n");
    const before = sim.stats.chat;
    const r = await cli(args(file, out, "++max_samples=0"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/has rows after its last: doing them/);
    expect(sim.stats.chat - before).toBe(40);
    expect(parseLines(await readFile(out, "utf8")).map((x) => x.id)).toEqual(data.rows.map((x) => x.id));
    const again = await cli(args(file, out, "++max_samples=-1"));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already complete/);
  });

  it("takes null for the keys NeMo-Skills declares Optional as what None means there: the same run as without them", async () => {
    const file = await input("null-in.jsonl", lines().slice(0, 10));
    const out = path.join(dir, "null", "output.jsonl");
    expect((await cli(args(file, out))).code).toBe(0);
    const before = sim.stats.chat;
    const r = await cli(
      args(
        file,
        out,
        "++inference.timeout=null",
        "++inference.reasoning_effort=null",
        "++inference.stop=null",
        "++system_message=null",
        "++inference.tokens_to_generate=null",
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/already complete/);
    expect(sim.stats.chat).toBe(before);
  });

  it("refuses other settings listing only the differing keys as dotted paths", async () => {
    const file = await input("set-in.jsonl", lines().slice(0, 10));
    const out = path.join(dir, "set", "output.jsonl");
    expect((await cli(args(file, out, "++inference.temperature=0"))).code).toBe(0);
    const r = await cli(args(file, out, "++inference.temperature=0.5", "++inference.top_p=0.9"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /holds rows of a different run[^\n]*\n {2}inference\.temperature: was 0, now 0\.5\n {2}inference\.top_p: was [^\n]+, now 0\.9\n[^\n]*--overwrite/,
    );
    expect(r.stderr).not.toMatch(/model:|prompt_hash:/);
  });

  it("refuses other scoring settings (++eval_config) for rows scored as they were made", async () => {
    const file = await input("score-in.jsonl", lines().slice(0, 10));
    const out = path.join(dir, "score", "output.jsonl");
    expect((await cli(args(file, out))).code).toBe(0);
    const r = await cli(args(file, out, "++eval_config.normalize_expected_answer=true"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\n {2}generation\.eval_config\.normalize_expected_answer: was false, now true\n/);
    // majority_by_answer changes only the metrics computed later: not the rows.
    const m = await cli(args(file, out, "++eval_config.majority_by_answer=true"));
    expect(m.code, m.stderr).toBe(0);
    expect(m.stderr).toContain("already complete");
  });

  it("refuses to resume when the spec of the rows written is empty or not JSON, naming both ways out", async () => {
    const file = await input("spec-in.jsonl", lines());
    const out = path.join(dir, "spec", "output.jsonl");
    await partialRun(file, out, 20);
    for (const text of ["", '{"model": "sim", ']) {
      await writeFile(`${out}.spec.json`, text);
      const before = sim.stats.chat;
      const r = await cli(args(file, out, "++inference.temperature=0.7"));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${out}.spec.json is ${text ? "not a run spec (JSON)" : "empty"}`);
      expect(r.stderr).toMatch(/--overwrite to discard them[\s\S]*or delete [^\n]*spec\.json to resume without/);
      expect(sim.stats.chat).toBe(before);
    }
  });

  it("leaves nothing that blocks the corrected command when a run stops before its first row", async () => {
    const file = await input("start-in.jsonl", lines().slice(0, 10));
    const out = path.join(dir, "start", "output.jsonl");
    const wrong = await cli(args(file, out).map((a) => (a === "sim" ? "not-served" : a)));
    expect(wrong.code).not.toBe(0);
    await expect(stat(`${out}.spec.json`)).rejects.toThrow();
    const right = await cli(args(file, out));
    expect(right.code, right.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8"))).toHaveLength(10);
  });
});

describe("eval: finished jobs, chunks and partial files", () => {
  const fixtures = path.join(repoRoot, "fixtures", "data");
  const evalArgs = (out: string, ...more: string[]) => [
    "eval",
    "--benchmarks",
    "mmmu-pro",
    "--server_type",
    "sim",
    "--data_dir",
    fixtures,
    "--output_dir",
    out,
    "--quiet",
    ...more,
  ];

  it("refuses another model's or simulator's settings for a finished eval instead of reprinting its results", async () => {
    const out = await tempDir();
    const a = await cli(evalArgs(out, "--model", "sim", "--sim_accuracy", "0.7"));
    expect(a.code, a.stderr).toBe(0);
    const b = await cli(evalArgs(out, "--model", "other", "--sim_accuracy", "0.1"));
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/model: was "sim", now "other"\n {2}simulator\.accuracy: was 0\.7, now 0\.1\n/);
    expect(b.stderr).toMatch(/--overwrite/);
    expect(b.stdout).not.toMatch(/pass@1/);
    const c = await cli(evalArgs(out, "--model", "sim", "--sim_accuracy", "0.7", "++inference.temperature=0.3"));
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/inference\.temperature: was [^\n]*, now 0\.3/);
    const d = await cli(evalArgs(out, "--model", "other", "--sim_accuracy", "0.1", "--overwrite"));
    expect(d.code, d.stderr).toBe(0);
    const spec = JSON.parse(
      await readFile(path.join(out, "eval-results", "mmmu-pro", "output.jsonl.spec.json"), "utf8"),
    );
    expect(spec).toMatchObject({ model: "other", simulator: { accuracy: 0.1 } });
  });

  it("refuses a chunk whose rows' input changed, and does rows appended to a finished eval's data", async () => {
    const out = await tempDir();
    const data2 = path.join(out, "data");
    await cp(fixtures, data2, { recursive: true });
    const test = path.join(data2, "mmmu-pro", "test.jsonl");
    const rows = (await readFile(test, "utf8")).trimEnd().split("\n");
    await writeFile(test, rows.slice(0, 50).join("\n") + "\n");
    const args2 = (...more: string[]) => [
      "eval",
      "--benchmarks",
      "mmmu-pro",
      "--server_type",
      "sim",
      "--model",
      "sim",
      "--data_dir",
      data2,
      "--output_dir",
      out,
      "--quiet",
      ...more,
    ];
    expect((await cli(args2())).code).toBe(0);
    await writeFile(test, rows.join("\n") + "\n");
    const grown = await cli(args2());
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.stderr).toMatch(/10 rows appended/);
    const result = parseLines(await readFile(path.join(out, "eval-results", "mmmu-pro", "output.jsonl"), "utf8"));
    expect(result.map((x) => x.id)).toEqual(rows.map((l) => (JSON.parse(l) as { id: string }).id));
    await writeFile(test, [rows[1], rows[0], ...rows.slice(2)].join("\n") + "\n");
    const swapped = await cli(args2());
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toContain(`${test} line 1 is not the row`);
  });
});

describe("resume reads the input from the first row not done", () => {
  it("keeps line numbers, blank lines and a BOM right: every row once, in order", async () => {
    const rows = lines();
    // A BOM, blank lines and CRLF ends: the resume starts mid-file and must count as a full read does.
    const text = "\uFEFF" + rows.map((l, i) => (i % 7 === 3 ? `\r\n${l}` : l)).join("\n") + "\n";
    const file = path.join(dir, "odd-in.jsonl");
    await writeFile(file, text);
    const out = path.join(dir, "odd", "output.jsonl");
    await partialRun(file, out, 40);
    const r = await cli(args(file, out));
    expect(r.code, r.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8")).map((x) => x.id)).toEqual(data.rows.map((x) => x.id));
  });
});
