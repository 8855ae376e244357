import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { registerSummarizeResults } from "../../src/cli/summarize-results.js";
import { summarizeResults } from "../../src/metrics/summarize-results.js";

const root = mkdtempSync(path.join(tmpdir(), "vlmpipe-summarize-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(file: string, rows: object[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

const line = (ok: boolean, subset?: string) => ({
  expected_answer: "A",
  predicted_answer: ok ? "A" : "B",
  symbolic_correct: ok,
  num_generated_tokens: 20,
  ...(subset ? { subset_for_metrics: subset } : {}),
});

// <out>/eval-results/{mmmu-pro (2 seeds, subsets), gsm (greedy), hidden folders} and <out>/eval-logs/
const out = path.join(root, "run");
write(path.join(out, "eval-results/mmmu-pro/output-rs0.jsonl"), [line(true, "Art"), line(false, "Bio")]);
write(path.join(out, "eval-results/mmmu-pro/output-rs1.jsonl"), [line(true, "Art"), line(true, "Bio")]);
writeFileSync(path.join(out, "eval-results/mmmu-pro/output-rs1.jsonl-async"), "{torn");
write(path.join(out, "eval-results/mmmu-pro/output-rs0_chunk_0.jsonl"), [line(false)]);
write(path.join(out, "eval-results/gsm/output.jsonl"), [line(true), line(false)]);
mkdirSync(path.join(out, "eval-results/gsm-logs"), { recursive: true });
// Hidden folders are not benchmarks (NeMo-Skills lists with glob("*")): Jupyter's, with a copy
// of an output in it, and an empty one.
write(path.join(out, "eval-results/.ipynb_checkpoints/output-checkpoint.jsonl"), [line(true)]);
mkdirSync(path.join(out, "eval-results/.cache"), { recursive: true });
mkdirSync(path.join(out, "eval-logs"), { recursive: true });

function cli(): { program: Command; printed: () => string } {
  let text = "";
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  registerSummarizeResults(program);
  return { program, printed: () => text };
}

describe("summarize_results", () => {
  it("finds eval-results/, prints a table per benchmark and subset and writes metrics.json there", async () => {
    const { program, printed } = cli();
    await program.parseAsync(["node", "vlmpipe", "summarize_results", out]);
    const text = printed();
    expect(text).toMatch(
      /-+ gsm -+\nevaluation_mode \| num_entries \| avg_tokens \| symbolic_correct \| no_answer \| num_errors\npass@1 /,
    );
    expect(text).toMatch(/-+ mmmu-pro-Bio -+\n/);
    expect(text).toContain("majority@2");
    const saved = path.join(out, "eval-results/metrics.json");
    expect(text).toContain(`Metrics are saved to ${saved}`);
    const metrics = JSON.parse(readFileSync(saved, "utf8"));
    expect(Object.keys(metrics)).toEqual(["gsm", "mmmu-pro", "mmmu-pro-Art", "mmmu-pro-Bio"]);
    expect(metrics.gsm["pass@1"].symbolic_correct).toBe(50);
    expect(metrics["mmmu-pro"]["pass@1[avg-of-2]"].symbolic_correct).toBe(75);
    expect(metrics["mmmu-pro-Bio"]["pass@2"].symbolic_correct).toBe(100);
    expect(text).toContain("num_errors: vlmpipe's addition, not a NeMo-Skills metric");
  });

  it("votes (answer, verdict) pairs for majority@k, answers alone with --majority_by_answer", async () => {
    const dir = path.join(root, "votes");
    const run = (answer: string, ok: boolean) => ({
      expected_answer: "A",
      predicted_answer: answer,
      symbolic_correct: ok,
    });
    // one question: the answer "A" scored right, wrong and right (a re-scored file, a judge), then "B" twice
    write(path.join(dir, "q/output-rs0.jsonl"), [run("A", true)]);
    write(path.join(dir, "q/output-rs1.jsonl"), [run("A", false)]);
    write(path.join(dir, "q/output-rs2.jsonl"), [run("A", true)]);
    write(path.join(dir, "q/output-rs3.jsonl"), [run("B", false)]);
    write(path.join(dir, "q/output-rs4.jsonl"), [run("B", false)]);
    const { program } = cli();
    const pairs = path.join(root, "pairs.json");
    const byAnswer = path.join(root, "by-answer.json");
    await program.parseAsync(["node", "vlmpipe", "summarize_results", dir, "--save_metrics_path", pairs]);
    const args = ["node", "vlmpipe", "summarize_results", dir, "--save_metrics_path", byAnswer, "--majority_by_answer"];
    await cli().program.parseAsync(args);
    // pairs: ("A", true) and ("B", false) tie at 2 -> 0.5; by answer: "A" wins 3 to 2 -> 2/3
    expect(JSON.parse(readFileSync(pairs, "utf8")).q["majority@5"].symbolic_correct).toBe(50);
    expect(JSON.parse(readFileSync(byAnswer, "utf8")).q["majority@5"].symbolic_correct).toBeCloseTo(200 / 3, 9);
  });

  it("summarizes only the benchmarks asked for, into the given path", async () => {
    const { program, printed } = cli();
    const target = path.join(root, "elsewhere", "m.json");
    await program.parseAsync([
      "node",
      "vlmpipe",
      "summarize_results",
      out,
      "--benchmarks",
      "gsm",
      "--save_metrics_path",
      target,
    ]);
    expect(printed()).not.toContain("mmmu-pro");
    expect(Object.keys(JSON.parse(readFileSync(target, "utf8")))).toEqual(["gsm"]);
  });

  it("takes one benchmark folder directly (as the eval command does for its metrics.json)", async () => {
    const bench = path.join(out, "eval-results/gsm");
    const metrics = await summarizeResults(bench, { saveMetricsPath: path.join(bench, "metrics.json") });
    expect(Object.keys(metrics)).toEqual(["gsm"]);
    expect(JSON.parse(readFileSync(path.join(bench, "metrics.json"), "utf8"))).toEqual(metrics);
  });

  it("refuses a benchmark with both greedy and per-seed outputs", async () => {
    const dir = path.join(root, "mixed");
    write(path.join(dir, "b/output.jsonl"), [line(true)]);
    write(path.join(dir, "b/output-rs0.jsonl"), [line(true)]);
    await expect(summarizeResults(dir, { saveMetricsPath: false })).rejects.toMatchObject({ code: "VLM_E_USAGE" });
  });

  it("refuses a folder without results", async () => {
    const dir = path.join(root, "nothing");
    mkdirSync(path.join(dir, "x"), { recursive: true });
    await expect(summarizeResults(dir)).rejects.toThrow(/no eval-results/);
    await expect(summarizeResults(path.join(root, "missing"))).rejects.toThrow(/not found/);
  });

  it("accepts the kebab-case spelling and --max_samples", async () => {
    const { program } = cli();
    const target = path.join(root, "kebab.json");
    await program.parseAsync([
      "node",
      "vlmpipe",
      "summarize_results",
      out,
      "--benchmarks",
      "gsm",
      "--save-metrics-path",
      target,
      "--max_samples",
      "1",
    ]);
    expect(JSON.parse(readFileSync(target, "utf8")).gsm["pass@1"].num_entries).toBe(1);
  });
});
