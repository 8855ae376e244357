import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerReport } from "../../src/cli/report.js";
import { benchmarkOutputs } from "../../src/metrics/locate.js";
import { parsePromptConfig } from "../../src/prompts/load-prompt-config.js";
import { gatherReport } from "../../src/report/gather.js";
import { wilsonInterval } from "../../src/report/stats.js";
import { jsonForScript } from "../../src/report/text.js";
import type { ReportImage, ReportLine, ReportRow } from "../../src/report/types.js";
import { writeReport } from "../../src/report/write-report.js";
import { tempDir } from "../helpers/dataset.js";
import { makeBenchmark, XSS } from "./helpers.js";

type Client = { runs: string[]; images: string; rows: ReportRow[]; lines: ReportLine[] };

/** The JSON block the page's script reads, parsed back. */
function embedded(html: string): Client {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m, "report-data block").not.toBeNull();
  return JSON.parse(m![1]!) as Client;
}

const gatherOpts = { maxSamples: 2000, textLimit: 20000, images: "embed" as const };

describe("report data", () => {
  it("computes per-subject accuracy, its Wilson interval and each seed's accuracy from the files", async () => {
    const b = await makeBenchmark({ seeds: 2 });
    const { data } = await gatherReport(benchmarkOutputs(b.bench), gatherOpts);
    expect(data.primaryMode).toBe("pass@1[avg-of-2]");
    expect(data.runs.map((r) => r.label)).toEqual(["seed 0", "seed 1"]);
    const math = data.subjects.find((s) => s.name === "Math")!;
    // Math: m1 right in both seeds, m2 right only in seed 1, m3 wrong, m4 failed.
    expect(math.questions).toBe(4);
    expect(math.perRun).toEqual([0.25, 0.5]);
    expect(math.accuracy).toBeCloseTo(0.375, 12);
    expect(math.ci!.low).toBeCloseTo(wilsonInterval(1.5, 4).low, 12);
    expect(math.ci!.high).toBeCloseTo(wilsonInterval(1.5, 4).high, 12);
    expect(data.subjects.map((s) => s.name)).toEqual(["Math", "Art <b>"]);
    expect(data.overall.questions).toBe(6);
    // The same number summarize_results computes.
    expect(data.metrics._all_!["pass@1[avg-of-2]"]!.symbolic_correct).toBeCloseTo(100 * data.overall.accuracy!, 9);
    expect(data.metrics.Math!["pass@1[avg-of-2]"]!.symbolic_correct).toBeCloseTo(37.5, 9);
  });

  it("bins every line's generated tokens and counts the cut ones", async () => {
    const b = await makeBenchmark({ seeds: 2 });
    const { data } = await gatherReport(benchmarkOutputs(b.bench), gatherOpts);
    // 5 lines with tokens per seed (the failed row has none).
    expect(data.tokens.summary).toMatchObject({ count: 10, min: 10, max: 50, median: 30 });
    expect(data.tokens.bins.reduce((a, x) => a + x.count, 0)).toBe(10);
    expect(data.tokens.bins.reduce((a, x) => a + x.correct, 0)).toBe(3);
    expect(data.tokens.truncated).toBe(2);
  });

  it("marks the failed row, the disagreement, the fallback, and folds reasoning and <think>", async () => {
    const b = await makeBenchmark({
      extraLines: () => [
        {
          id: "t1",
          subset_for_metrics: "Math",
          problem: "q",
          expected_answer: "A",
          generation: "<think>hmm</think>\n\nAnswer: A",
          predicted_answer: "A",
          symbolic_correct: true,
        },
      ],
    });
    const { data } = await gatherReport(benchmarkOutputs(b.bench), gatherOpts);
    const [l0, l1, l2, l3, l4, l5, l6] = data.samples.lines;
    expect(l0!.reasoning).toBe("Let me think: 1+1 is 2.");
    expect(l1!.generation).toBe(XSS);
    expect(l2!.disagree).toBe(true);
    expect(l3!.error).toEqual({ code: "VLM_E_HTTP", stage: "generate", message: "HTTP 400: bad <request>" });
    expect(l3!.correct).toBeNull();
    expect(l4).toMatchObject({ predicted: null, correct: false, finish: "length" });
    expect(l5).toMatchObject({ fallback: true, official: "C", multichoice: null });
    expect(l5!.disagree).toBeUndefined();
    expect(l6).toMatchObject({ reasoning: "hmm", generation: "Answer: A" });
  });

  it("embeds only the first maxSamples questions of each file and says so in the page", async () => {
    const b = await makeBenchmark({ seeds: 2 });
    const file = await writeReport(b.bench, { maxSamples: 4, images: "none" });
    expect(file).toBe(path.join(b.bench, "report.html"));
    const html = await readFile(file, "utf8");
    const client = embedded(html);
    expect(client.rows).toHaveLength(4);
    expect(client.lines).toHaveLength(8);
    expect(client.lines.map((l) => [l.row, l.run]).slice(0, 4)).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    expect(html).toContain("Only the first 4 of 6 questions of each run are in this page");
    // Charts and tables still count every row.
    expect(html).toMatch(/<b>6<\/b> questions/);
  });

  it("cuts long generations in the middle, keeping the end where the answer is", async () => {
    const long = `${"x".repeat(5000)}\nAnswer: A`;
    const b = await makeBenchmark({
      extraLines: () => [
        {
          id: "long",
          problem: "q",
          expected_answer: "A",
          generation: long,
          predicted_answer: "A",
          symbolic_correct: true,
        },
      ],
    });
    const { data } = await gatherReport(benchmarkOutputs(b.bench), { ...gatherOpts, textLimit: 1000 });
    const g = data.samples.lines.at(-1)!.generation;
    expect(g.length).toBeLessThan(1200);
    expect(g).toMatch(/characters cut from the report/);
    expect(g.endsWith("Answer: A")).toBe(true);
  });
});

describe("report.html", () => {
  it("never lets a generation out of its JSON block: </script>, tags and handlers stay data", async () => {
    const b = await makeBenchmark();
    const html = await readFile(await writeReport(b.bench, { images: "none" }), "utf8");
    expect(html).not.toContain("</script><img");
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    const block = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(block).not.toMatch(/[<>]/);
    expect(html.replace(block, "")).not.toContain("onerror");
    expect(embedded(html).lines[1]!.generation).toBe(XSS);
    // A subject name and an error message are escaped where the page shows them.
    expect(html).toContain("Art &#60;b&#62;");
    expect(html).not.toContain("Art <b>");
    expect(jsonForScript({ s: "</script>\u2028" })).toBe('{"s":"\\u003c/script\\u003e\\u2028"}');
  });

  it("forbids any other script and every fetch with its Content-Security-Policy", async () => {
    const b = await makeBenchmark();
    const html = await readFile(await writeReport(b.bench, { images: "none" }), "utf8");
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toMatch(/unsafe-inline/);
    expect(csp).toMatch(/img-src data:(;|$)/);
  });

  it("draws one bar per subject, with a whisker and a dot per seed", async () => {
    const b = await makeBenchmark({ seeds: 3 });
    const html = await readFile(await writeReport(b.bench, { images: "none" }), "utf8");
    const chart = /<svg id="subject-chart"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(chart.match(/<rect class="bar"/g)).toHaveLength(2);
    expect(chart.match(/class="subject" data-subject="/g)).toHaveLength(2);
    expect(chart.match(/<circle class="seed"/g)).toHaveLength(6);
    expect(chart.match(/<line class="whisker"/g)).toHaveLength(6);
    expect(html).toContain('<svg id="token-chart"');
    expect(html).toContain("pass@1[avg-of-3]");
  });

  it("shows an open answer's text, its acceptable answers and its per-row ANLS", async () => {
    const dir = path.join(await tempDir("vlmpipe-report-open-"), "docvqa");
    await mkdir(dir, { recursive: true });
    const lines = [
      {
        id: "q1",
        problem: "Date?",
        expected_answer: "1/8/93",
        answers: ["1/8/93", "Jan 8 1993"],
        generation: "1/8/1993",
        predicted_answer: "1/8/1993",
        anls: 0.75,
        symbolic_correct: false,
      },
      {
        id: "q2",
        problem: "Name?",
        expected_answer: "ITC",
        answers: ["ITC"],
        generation: "ITC",
        predicted_answer: "ITC",
        anls: 1,
        symbolic_correct: true,
      },
    ];
    await writeFile(path.join(dir, "output.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const { data } = await gatherReport(benchmarkOutputs(dir), gatherOpts);
    expect(data.samples.rows.map((r) => [r.expected, r.answers])).toEqual([
      ["1/8/93", ["1/8/93", "Jan 8 1993"]],
      ["ITC", undefined],
    ]);
    expect(data.samples.lines.map((l) => [l.predicted, l.score, l.correct])).toEqual([
      ["1/8/1993", { name: "ANLS", value: 0.75 }, false],
      ["ITC", { name: "ANLS", value: 1 }, true],
    ]);
    expect(data.metrics._all_!["pass@1"]!.anls).toBeCloseTo(87.5, 9);
    const html = await readFile(await writeReport(dir, { images: "none" }), "utf8");
    expect(embedded(html).lines[0]!.score).toEqual({ name: "ANLS", value: 0.75 });
    expect(html).toContain("acceptable answers");
  });

  it("draws the benchmark as the one bar when rows have no subset_for_metrics", async () => {
    const b = await makeBenchmark();
    const file = path.join(b.bench, "output.jsonl");
    const rows = (await readFile(file, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    await writeFile(file, rows.map(({ subset_for_metrics: _, ...r }) => JSON.stringify(r)).join("\n") + "\n");
    const html = await readFile(await writeReport(b.bench, { images: "none" }), "utf8");
    const chart = /<svg id="subject-chart"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(chart.match(/<rect class="bar"/g)).toHaveLength(1);
    expect(chart).toContain('data-subject="bench"');
    expect(chart).not.toContain('class="seed"');
  });

  it("embeds thumbnails as JPEG data URLs, a placeholder for a missing file, with the data dir found from the spec", async () => {
    const b = await makeBenchmark();
    const client = embedded(await readFile(await writeReport(b.bench), "utf8"));
    const [a] = client.rows[0]!.images;
    expect(a!.src).toMatch(/^data:image\/jpeg;base64,/);
    const jpeg = Buffer.from(a!.src!.split(",")[1]!, "base64");
    const sharp = (await import("sharp")).default;
    const meta = await sharp(jpeg).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBe(256);
    expect(client.rows[1]!.images).toHaveLength(2);
    const missing = client.rows[2]!.images[0] as ReportImage;
    expect(missing.src).toBeUndefined();
    expect(missing.note).toMatch(/^not found: .*missing\.png$/);
    expect(client.rows[3]!.images).toEqual([]);
    // Images first, then the problem text, when no prompt config is known.
    expect(client.rows[1]!.prompt).toEqual([{ image: 0 }, { image: 1 }, { text: "Pick <image 1> or <image 2>" }]);
  });

  it("links images relative to the report file, and leaves them out with images: none", async () => {
    const b = await makeBenchmark();
    const out = path.join(b.root, "elsewhere", "r.html");
    const linked = embedded(
      await readFile(await writeReport(b.bench, { images: "link", out, dataDir: b.data }), "utf8"),
    );
    expect(linked.images).toBe("link");
    expect(linked.rows[0]!.images[0]!.src).toBe("../data/images/a.png");
    const none = embedded(await readFile(await writeReport(b.bench, { images: "none" }), "utf8"));
    expect(none.rows[0]!.images[0]).toEqual({ label: "images/a.png", note: "images left out (--images none)" });
  });

  it("renders the prompt with the run's prompt config: system message and images at their markers", async () => {
    const b = await makeBenchmark();
    const yaml = `system: "Be brief."\nuser: "Q: {problem}"\nimage_field: [image_path, image_1, image_2]\nimage_position: markers\n`;
    const configFile = path.join(b.root, "p.yaml");
    await writeFile(configFile, yaml);
    const spec = path.join(b.bench, "output.jsonl.spec.json");
    const s = JSON.parse(await readFile(spec, "utf8"));
    await writeFile(
      spec,
      JSON.stringify({ ...s, prompt_config: configFile, prompt_hash: parsePromptConfig(yaml).hash }),
    );
    const client = embedded(await readFile(await writeReport(b.bench, { images: "none" }), "utf8"));
    expect(client.rows[1]).toMatchObject({
      system: "Be brief.",
      prompt: [{ text: "Q: Pick " }, { image: 0 }, { text: " or " }, { image: 1 }],
    });
    // A changed config (another hash) is not the prompt the model saw: plain problem text instead.
    await writeFile(spec, JSON.stringify({ ...s, prompt_config: configFile, prompt_hash: "0000000000000000" }));
    const plain = embedded(await readFile(await writeReport(b.bench, { images: "none" }), "utf8"));
    expect(plain.rows[1]!.system).toBeUndefined();
  });

  it("refuses unknown options and a missing folder with a message naming them", async () => {
    const b = await makeBenchmark();
    await expect(writeReport(b.bench, { images: "inline" as never })).rejects.toThrow(/images/);
    await expect(writeReport(b.bench, { bogus: 1 } as never)).rejects.toThrow(/unknown key bogus/);
    await expect(writeReport(path.join(b.root, "nope"))).rejects.toThrow(/benchmark folder not found/);
    await expect(writeReport(b.bench, { dataDir: path.join(b.root, "nope") })).rejects.toThrow(/--data_dir not found/);
  });
});

describe("vlmpipe report", () => {
  async function run(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const program = new Command()
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
    registerReport(program);
    for (const c of program.commands) c.exitOverride();
    let error: unknown;
    try {
      await program.parseAsync(args, { from: "user" });
    } catch (e) {
      error = e;
    }
    return { out: out.join(""), err: err.join(""), error };
  }

  it("writes the report where --output says and prints its path", async () => {
    const b = await makeBenchmark({ seeds: 2 });
    const target = path.join(b.root, "r.html");
    const r = await run([
      "report",
      b.bench,
      "--images",
      "link",
      "--output",
      target,
      "--max_samples",
      "3",
      "--data_dir",
      b.data,
    ]);
    expect(r.error).toBeUndefined();
    expect(r.out).toBe(`${target}\n`);
    const client = embedded(await readFile(target, "utf8"));
    expect(client.rows).toHaveLength(3);
    expect(client.images).toBe("link");
  });

  it("writes one report per benchmark when given the results folder", async () => {
    const b = await makeBenchmark();
    const r = await run(["report", path.join(b.root, "results")]);
    expect(r.error).toBeUndefined();
    expect(r.out).toBe(`${path.join(b.bench, "report.html")}\n`);
  });

  it("rejects an unknown --images mode and a bad --max_samples", async () => {
    const b = await makeBenchmark();
    const bad = await run(["report", b.bench, "--images", "inline"]);
    expect(bad.err).toMatch(/Allowed choices are embed, link, none/);
    const n = await run(["report", b.bench, "--max_samples", "lots"]);
    expect(String(n.error)).toMatch(/--max_samples takes a whole number/);
  });
});
