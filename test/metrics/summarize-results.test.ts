import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  it("replaces metrics.json whole (written aside and renamed), never rewriting the earlier file in place", async () => {
    const bench = path.join(out, "eval-results/gsm");
    const file = path.join(bench, "metrics.json");
    writeFileSync(file, "{}");
    // A second name for the earlier file: a kill in the middle of an in-place write would have
    // left it cut short; a rename leaves it as it was.
    const earlier = path.join(root, "earlier-metrics.json");
    rmSync(earlier, { force: true });
    linkSync(file, earlier);
    const metrics = await summarizeResults(bench, { saveMetricsPath: file });
    expect(readFileSync(earlier, "utf8")).toBe("{}");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(metrics);
    expect(readdirSync(bench).filter((f) => f.includes(".tmp-"))).toEqual([]);
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

describe("metrics.json as NeMo-Skills' json.dump(results, f, indent=2) writes it", () => {
  it("writes its floats as floats (50.0, 0.0), its counts as ints, ensure_ascii names, no newline at the end", async () => {
    const dir = path.join(root, "py-json");
    write(path.join(dir, "b/output.jsonl"), [
      { predicted_answer: "A", symbolic_correct: true, num_generated_tokens: 20, subset_for_metrics: 'Théorie "q"' },
      { predicted_answer: null, symbolic_correct: false, num_generated_tokens: 25, subset_for_metrics: "x" },
    ]);
    const target = path.join(root, "py-json.json");
    await summarizeResults(dir, { saveMetricsPath: target });
    // NeMo-Skills main's file for these rows, with vlmpipe's num_errors added.
    const mode = (n: number, tokens: number, correct: string, none: string) =>
      [
        `    "pass@1": {`,
        `      "num_entries": ${n},`,
        `      "avg_tokens": ${tokens},`,
        `      "symbolic_correct": ${correct},`,
        `      "no_answer": ${none},`,
        `      "num_errors": 0`,
        `    }`,
      ].join("\n");
    expect(readFileSync(target, "utf8")).toBe(
      [
        "{",
        `  "b": {\n${mode(2, 22, "50.0", "50.0")}\n  },`,
        `  "b-Th\\u00e9orie \\"q\\"": {\n${mode(1, 20, "100.0", "0.0")}\n  },`,
        `  "b-x": {\n${mode(1, 25, "0.0", "100.0")}\n  }`,
        "}",
      ].join("\n"),
    );
  });
});

describe("names in NeMo-Skills' order", () => {
  it("keeps integer-like benchmark and subset names in dict order and names float subsets as Python's str()", async () => {
    const dir = path.join(root, "int-names");
    mkdirSync(path.join(dir, "10"), { recursive: true });
    const subsets = ["3", "1", "10", "2.0", "2e3", "-0.0", '"hard"', "3"];
    writeFileSync(
      path.join(dir, "10/output.jsonl"),
      subsets.map((s) => `{"predicted_answer": "A", "symbolic_correct": true, "subset_for_metrics": ${s}}\n`).join(""),
    );
    write(path.join(dir, "9/output.jsonl"), [{ predicted_answer: "A", symbolic_correct: true }]);
    const target = path.join(root, "int-names.json");
    let printed = "";
    await summarizeResults(dir, { saveMetricsPath: target, write: (t) => (printed += t) });
    const names = ["10", "10-3", "10-1", "10-10", "10-2.0", "10-2000.0", "10--0.0", "10-hard", "9"];
    const keys = (text: string, re: RegExp) => [...text.matchAll(re)].map((m) => m[1]);
    expect(keys(readFileSync(target, "utf8"), /^ {2}"(.*)": \{$/gm)).toEqual(names);
    expect(keys(printed, /^-+ (\S+) -+$/gm)).toEqual(names);
  });
});

describe("benchmark groups, as NeMo-Skills' add_benchmark_groups makes them", () => {
  it("puts the average of grp.a and grp.b first, ints truncated, num_entries replaced by num_benchmarks_in_group", async () => {
    const dir = path.join(root, "groups");
    write(path.join(dir, "grp.a/output.jsonl"), [
      {
        predicted_answer: "A",
        symbolic_correct: true,
        num_generated_tokens: 7,
        generation_start_time: 0,
        generation_end_time: 10,
      },
      { predicted_answer: "B", symbolic_correct: false, num_generated_tokens: 8 },
    ]);
    write(path.join(dir, "grp.b/output.jsonl"), [
      {
        predicted_answer: "A",
        symbolic_correct: true,
        num_generated_tokens: 10,
        generation_start_time: 0,
        generation_end_time: 5,
      },
      { predicted_answer: "A", symbolic_correct: true, num_generated_tokens: 10 },
      { predicted_answer: null, symbolic_correct: false, num_generated_tokens: 10 },
    ]);
    write(path.join(dir, "other/output.jsonl"), [{ predicted_answer: "A", symbolic_correct: true }]);
    const target = path.join(root, "groups.json");
    let printed = "";
    await summarizeResults(dir, { saveMetricsPath: target, write: (t) => (printed += t) });
    const text = readFileSync(target, "utf8");
    expect([...text.matchAll(/^ {2}"(.*)": \{$/gm)].map((m) => m[1])).toEqual(["grp", "grp.a", "grp.b", "other"]);
    // NeMo-Skills main's numbers; num_errors is vlmpipe's, averaged like the others.
    expect(text).toContain(
      [
        `  "grp": {`,
        `    "pass@1": {`,
        `      "avg_tokens": 8,`,
        `      "gen_seconds": 7,`,
        `      "symbolic_correct": 58.333333333333336,`,
        `      "no_answer": 16.666666666666668,`,
        `      "num_errors": 0,`,
        `      "num_benchmarks_in_group": 2`,
        `    }`,
        `  },`,
      ].join("\n"),
    );
    expect(printed).toMatch(
      /^-+ grp -+\nevaluation_mode \| avg_tokens \| gen_seconds \| symbolic_correct \| no_answer \| num_errors\npass@1 +\| 8 +\| 7 +\| 58\.33% +\| 16\.67% /,
    );
  });

  it("averages a group whose members differ only in vlmpipe's keys (anls), which NeMo-Skills' metrics lack", async () => {
    const dir = path.join(root, "anls-groups");
    write(path.join(dir, "grp.a/output.jsonl"), [{ predicted_answer: "A", symbolic_correct: true, anls: 1 }]);
    write(path.join(dir, "grp.b/output.jsonl"), [{ predicted_answer: "A", symbolic_correct: false }]);
    let printed = "";
    const metrics = await summarizeResults(dir, { saveMetricsPath: false, write: (t) => (printed += t) });
    expect(printed).not.toContain("vlmpipe: no");
    expect(metrics.grp!["pass@1"]).toEqual({
      symbolic_correct: 50,
      no_answer: 0,
      num_errors: 0,
      num_benchmarks_in_group: 2,
    });
  });

  it("leaves the group out, saying why, where NeMo-Skills stops on the statistics of several seeds", async () => {
    const dir = path.join(root, "seed-groups");
    for (const b of ["grp.a", "grp.b"]) {
      for (const s of [0, 1]) write(path.join(dir, `${b}/output-rs${s}.jsonl`), [line(true), line(s === 0)]);
    }
    const target = path.join(root, "seed-groups.json");
    let printed = "";
    const metrics = await summarizeResults(dir, { saveMetricsPath: target, write: (t) => (printed += t) });
    expect(Object.keys(metrics)).toEqual(["grp.a", "grp.b"]);
    expect(Object.keys(JSON.parse(readFileSync(target, "utf8")))).toEqual(["grp.a", "grp.b"]);
    const notes = printed.split("\n").filter((l) => l.startsWith("vlmpipe:"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/no "grp" group average of grp\.a, grp\.b: .*several seeds.*TypeError.*left out/);
  });
});
