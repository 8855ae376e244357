import { execFileSync, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openSpecialOutput } from "../../src/output/special-output.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

/**
 * A FIFO in `dir` and what a reader (`cat`, its own process: a reader blocked in open() must not
 * hold this one) gets from it until the writer closes it; `text()` gives up after 20 s.
 */
function fifo(dir: string) {
  const p = path.join(dir, "pipe");
  execFileSync("mkfifo", [p]);
  const reader = spawn("cat", [p], { stdio: ["ignore", "pipe", "ignore"] });
  const chunks: Buffer[] = [];
  reader.stdout.on("data", (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve) => reader.on("close", () => resolve()));
  const text = async () => {
    const bound = setTimeout(() => reader.kill(), 20_000);
    await closed;
    clearTimeout(bound);
    return Buffer.concat(chunks).toString("utf8");
  };
  return { path: p, text };
}

// `--output_file /dev/null` was written as a file beside it renamed over it: /dev/null became a
// regular file (and the lock and partial files landed in /dev). A FIFO stands in for the device.
describe("an --output_file that is a device or a pipe", () => {
  it("score writes its lines into it, and it stays what it was, with nothing beside it", async () => {
    const d = await tempDir();
    const input = path.join(d, "data.jsonl");
    const rows = ["A", "B", "C", "D"].map((x, i) => ({ id: i, generation: `Answer: ${x}`, expected_answer: "B" }));
    await writeFile(input, rows.map((x) => `${JSON.stringify(x)}\n`).join(""));
    const out = fifo(d);
    const r = await cli(["score", "--input_file", input, "--output_file", out.path, "--eval_type", "multichoice"]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseLines(await out.text())).toHaveLength(4);
    expect((await stat(out.path)).isFIFO()).toBe(true);
    expect((await readdir(d)).sort()).toEqual(["data.jsonl", "pipe"]);
  });

  it("generate writes every row into it as to stdout, and it stays what it was, with nothing beside it", async () => {
    const d = await tempDir();
    const data = await makeDataset(d, 6, { images: false });
    const out = fifo(d);
    const r = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      out.path,
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_type",
      "sim",
      "--quiet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = parseLines(await out.text());
    expect(lines.map((x) => x.id).sort()).toEqual(data.rows.map((x) => x.id).sort());
    expect(lines.every((x) => typeof x.generation === "string")).toBe(true);
    expect((await stat(out.path)).isFIFO()).toBe(true);
    expect((await readdir(d)).sort()).toEqual(["data.jsonl", "images", "pipe"]);
  });

  it("a link to one of the process's own descriptors (as /dev/stdout is) is appended to, the link kept", async () => {
    const d = await tempDir();
    const input = path.join(d, "data.jsonl");
    await writeFile(input, `${JSON.stringify({ id: 1, generation: "Answer: B", expected_answer: "B" })}\n`);
    const file = path.join(d, "held.txt");
    await writeFile(file, "before\n");
    const fd = openSync(file, "a");
    const link = path.join(d, "stdout-like");
    await symlink(`/proc/self/fd/${fd}`, link);
    try {
      const r = await cli(["score", "--input_file", input, "--output_file", link, "--eval_type", "multichoice"]);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      closeSync(fd);
    }
    const text = await readFile(file, "utf8");
    expect(text.startsWith("before\n")).toBe(true);
    expect(parseLines(text.slice("before\n".length))).toHaveLength(1);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await readdir(d)).sort()).toEqual(["data.jsonl", "held.txt", "stdout-like"]);
  });
});

describe("an --output_file given through a link to a regular file", () => {
  it("replaces the file it points to and keeps the link", async () => {
    const d = await tempDir();
    const input = path.join(d, "data.jsonl");
    await writeFile(input, `${JSON.stringify({ id: 1, generation: "Answer: B", expected_answer: "B" })}\n`);
    await mkdir(path.join(d, "real"));
    const target = path.join(d, "real", "scored.jsonl");
    await writeFile(target, "old\n");
    const link = path.join(d, "scored.jsonl");
    await symlink(target, link);
    const r = await cli(["score", "--input_file", input, "--output_file", link, "--eval_type", "multichoice"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(parseLines(await readFile(target, "utf8"))).toMatchObject([{ id: 1, symbolic_correct: true }]);
  });
});

describe("whole-file outputs (report, summarize_results' metrics.json) to a device or pipe", () => {
  it("report --output FIFO streams the page into it and leaves it a FIFO", async () => {
    const d = await tempDir();
    const bench = path.join(d, "b");
    await mkdir(bench);
    const line = { id: 1, problem: "Q?", generation: "Answer: B", expected_answer: "B", predicted_answer: "B" };
    await writeFile(path.join(bench, "output.jsonl"), `${JSON.stringify({ ...line, symbolic_correct: true })}\n`);
    const out = fifo(d);
    const r = await cli(["report", bench, "--output", out.path, "--images", "none"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await out.text()).toMatch(/^<!doctype html>/i);
    expect((await stat(out.path)).isFIFO()).toBe(true);
  });

  it("summarize_results --save_metrics_path through a link to an own descriptor appends to it", async () => {
    const d = await tempDir();
    const bench = path.join(d, "eval-results", "b");
    await mkdir(bench, { recursive: true });
    await writeFile(
      path.join(bench, "output.jsonl"),
      `${JSON.stringify({ predicted_answer: "B", expected_answer: "B", symbolic_correct: true })}\n`,
    );
    const file = path.join(d, "held.txt");
    await writeFile(file, "before\n");
    const fd = openSync(file, "a");
    const link = path.join(d, "stdout-like");
    await symlink(`/proc/self/fd/${fd}`, link);
    try {
      const r = await cli(["summarize_results", d, "--save_metrics_path", link]);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      closeSync(fd);
    }
    const text = await readFile(file, "utf8");
    expect(text.startsWith("before\n")).toBe(true);
    expect(JSON.parse(text.slice("before\n".length))).toMatchObject({ b: { "pass@1": { num_entries: 1 } } });
  });

  it("a FIFO without a reader: the open gives way to Ctrl-C", async () => {
    const d = await tempDir();
    const p = path.join(d, "pipe");
    execFileSync("mkfifo", [p]);
    const ac = new AbortController();
    const opening = openSpecialOutput(p, ac.signal).catch((e: unknown) => e);
    ac.abort();
    expect(await opening).toMatchObject({ code: "VLM_E_ABORTED" });
    // The open left pending in the thread pool ends once a reader comes.
    const reader = spawn("cat", [p], { stdio: "ignore" });
    await new Promise((r) => reader.on("close", r));
  });
});
