import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { filter, lastValueFrom, map, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createClient,
  extractAnswer,
  GenerationConfigSchema,
  generate,
  loadPromptConfig,
  readRows,
  renderPrompt,
  resolveImages,
  score,
} from "../../src/index.js";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot } from "../helpers/bin.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

const fixture = path.join(repoRoot, "fixtures", "data", "mmmu-pro", "test.jsonl");
let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ model: "sim", answers: fixture, accuracy: 0.7 });
});
afterAll(() => sim.close());

const common = (input: string, out: string) => [
  "--input_file",
  input,
  "--output_file",
  out,
  "--model",
  "sim",
  "--server_address",
  `${sim.url}/v1`,
  "--quiet",
];
/**
 * The shipped judge pipeline in `dir`, its judge the model "judge" on `judge` (a loopback server),
 * with `more` YAML added to the judge stage's options.
 */
async function judgePipeline(dir: string, judge: Server, more = ""): Promise<string> {
  const file = path.join(dir, "judge.yaml");
  const shipped = await readFile(path.join(repoRoot, "pipelines", "open-answer-judge.yaml"), "utf8");
  const url = `http://127.0.0.1:${(judge.address() as AddressInfo).port}/v1`;
  await writeFile(
    file,
    shipped.replace(
      "      output_key: judgement",
      `      model: judge\n      server_address: ${url}\n      output_key: judgement${more}`,
    ),
  );
  return file;
}

const verdicts = (rows: Record<string, unknown>[]) => rows.map((r) => [r.id, r.predicted_answer, r.symbolic_correct]);

describe("vlmpipe run PIPELINE", () => {
  it("runs pipelines/mmmu-pro.yaml with the same results as generate --eval_type multichoice", async () => {
    const d = await tempDir();
    const a = await cli(["run", "mmmu-pro", ...common(fixture, path.join(d, "a.jsonl"))]);
    expect(a.code, a.stderr).toBe(0);
    const b = await cli([
      "generate",
      "--prompt_config",
      "vlm/mmmu-pro",
      "--eval_type",
      "multichoice",
      ...common(fixture, path.join(d, "b.jsonl")),
    ]);
    expect(b.code, b.stderr).toBe(0);
    const ra = parseLines(await readFile(path.join(d, "a.jsonl"), "utf8"));
    expect(ra).toHaveLength(60);
    expect(verdicts(ra)).toEqual(verdicts(parseLines(await readFile(path.join(d, "b.jsonl"), "utf8"))));
  });

  it("runs the LLM-judge example: a second call grades each answer", async () => {
    // A stand-in judge model on loopback: "Yes" when the candidate's last line names the reference.
    const judgeCalls: string[] = [];
    const judgeBodies: Record<string, unknown>[] = [];
    const judgeServer = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        if (req.url?.endsWith("/models")) {
          res.end(JSON.stringify({ data: [{ id: "judge" }] }));
          return;
        }
        const q = JSON.parse(body) as { model: string; messages: { content: string }[] };
        const text = q.messages.at(-1)?.content ?? "";
        judgeCalls.push(q.model);
        judgeBodies.push(q);
        const ref = /Reference answer:\n(.*)\n/.exec(text)?.[1] ?? "?";
        const cand = /Candidate answer:\n([\s\S]*)\n\nDoes the/.exec(text)?.[1] ?? "";
        const yes = cand.trim().split("\n").at(-1)?.includes(`Answer: ${ref}`);
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: `Compared.\nJudgement: ${yes ? "Yes" : "No"}` },
                finish_reason: "stop",
              },
            ],
            usage: { completion_tokens: 3 },
          }),
        );
      });
    });
    await new Promise<void>((r) => judgeServer.listen(0, "127.0.0.1", r));
    try {
      const d = await tempDir();
      const data = await makeDataset(d, 12);
      const answers = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 0.5 });
      const pipelineFile = await judgePipeline(d, judgeServer, "\n      inference: { temperature: 0, top_p: 0.5 }");
      const out = path.join(d, "o.jsonl");
      const r = await cli([
        "run",
        pipelineFile,
        ...common(data.file, out).map((x) => x.replace(sim.url, answers.url)),
        "++server.stream=false",
        "++inference.tokens_to_generate=77",
        "++inference.top_p=0.9",
      ]);
      await answers.close();
      expect(r.code, r.stderr).toBe(0);
      const rows = parseLines(await readFile(out, "utf8"));
      expect(rows).toHaveLength(12);
      for (const row of rows) {
        expect(row.judgement).toMatch(/Judgement: (Yes|No)$/);
        const right = (row.generation as string).trim().endsWith(`Answer: ${row.expected_answer}`);
        expect(row.judge_correct).toBe(right);
      }
      expect(rows.some((x) => x.judge_correct === true) && rows.some((x) => x.judge_correct === false)).toBe(true);
      expect(judgeCalls).toHaveLength(12);
      expect(new Set(judgeCalls)).toEqual(new Set(["judge"]));
      // The judge's own settings over the run's: the run's max_tokens, the judge's top_p.
      expect(judgeBodies[0]).toMatchObject({ temperature: 0, top_p: 0.5, max_tokens: 77 });
    } finally {
      judgeServer.closeAllConnections();
      await new Promise((r) => judgeServer.close(r));
    }
  });

  it("stops after --max_failures rows failed in a row in a stage after generate (a judge refusing every call)", async () => {
    let judgeCalls = 0;
    const judgeServer = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url?.endsWith("/models")) {
          res.end(JSON.stringify({ data: [{ id: "judge" }] }));
          return;
        }
        judgeCalls++;
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "bad request", type: "BadRequestError", code: 400 } }));
      });
    });
    await new Promise<void>((r) => judgeServer.listen(0, "127.0.0.1", r));
    try {
      const d = await tempDir();
      const data = await makeDataset(d, 60);
      const answers = await startSimServer({ model: "sim", answer_rows: data.rows as never, latency_ms: 20 });
      const pipelineFile = await judgePipeline(d, judgeServer);
      const out = path.join(d, "o.jsonl");
      const r = await cli([
        "run",
        pipelineFile,
        ...common(data.file, out).map((x) => x.replace(sim.url, answers.url)),
        "--max_concurrent_requests",
        "2",
        "--max_failures",
        "5",
        "++server.stream=false",
      ]);
      await answers.close();
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/5 rows failed in a row \(last: HTTP 400/);
      // Stopped early: the rows not yet sent were left for a rerun.
      expect(judgeCalls).toBeLessThan(30);
      expect(parseLines(await readFile(`${out}-async`, "utf8")).length).toBeLessThan(30);
    } finally {
      judgeServer.closeAllConnections();
      await new Promise((r) => judgeServer.close(r));
    }
  });

  it("refuses an unknown stage or a bad stage option before any work", async () => {
    const d = await tempDir();
    const bad1 = path.join(d, "bad1.yaml");
    await writeFile(bad1, "stages:\n  - renderPrompt: { prompt_config: vlm/mmmu-pro }\n  - generat\n");
    const r1 = await cli(["run", bad1, ...common(fixture, "-")]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/unknown stage "generat"; known: renderPrompt, resolveImages, generate/);
    const bad2 = path.join(d, "bad2.yaml");
    await writeFile(bad2, "stages:\n  - renderPrompt: { prompt_config: vlm/mmmu-pro, colour: red }\n");
    const r2 = await cli(["run", bad2, ...common(fixture, "-")]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/stage 1 \(renderPrompt\):\nunknown key colour/);
  });

  it("refuses, before any work, a stage order that cannot work and a judge's verdict_pattern that is no regex", async () => {
    const d = await tempDir();
    const cases: [string, RegExp][] = [
      // Every row failed ("no messages"), exit 3.
      [
        "  - generate\n  - renderPrompt: { prompt_config: vlm/mmmu-pro }",
        /stage 1 \(generate\) needs renderPrompt before it/,
      ],
      // Every row scored wrong against a predicted_answer nobody extracted, exit 0.
      [
        "  - renderPrompt: { prompt_config: vlm/mmmu-pro }\n  - resolveImages\n  - generate\n  - score",
        /stage 4 \(score\) needs extractAnswer before it/,
      ],
      [
        "  - renderPrompt: { prompt_config: vlm/mmmu-pro }\n  - extractAnswer\n  - generate",
        /stage 2 \(extractAnswer\) comes before generate \(stage 3\)/,
      ],
      [
        "  - renderPrompt: { prompt_config: vlm/open-answer }\n  - generate\n  - judge: { prompt_config: judge/open-answer, verdict_pattern: '(yes' }",
        /stage 3 \(judge\):\n.*verdict_pattern.*not a regular expression/,
      ],
      [
        "  - renderPrompt: { prompt_config: vlm/open-answer }\n  - generate\n  - judge: { prompt_config: judge/open-answer, verdict_pattern: 'Verdict: yes' }",
        /verdict_pattern.*needs a group/,
      ],
    ];
    for (const [i, [stages, message]] of cases.entries()) {
      const file = path.join(d, `order${i}.yaml`);
      await writeFile(file, `stages:\n${stages}\n`);
      const out = path.join(d, `o${i}.jsonl`);
      const r = await cli(["run", file, ...common(fixture, out)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out) || existsSync(`${out}-async`)).toBe(false);
    }
  });
});

describe("the library", () => {
  it("composes a custom chain in a few lines: only rows of one subject, then score", async () => {
    const { config } = await loadPromptConfig("vlm/mmmu-pro");
    const client = createClient({
      baseUrl: `${sim.url}/v1`,
      concurrency: 8,
      timeoutSeconds: 60,
      server: GenerationConfigSchema.parse({}).server,
    });
    const inference = GenerationConfigSchema.parse({}).inference;
    const rows = await lastValueFrom(
      readRows(fixture).pipe(
        filter((s) => s.row.subject === "Biology"),
        renderPrompt(config),
        resolveImages({ baseDir: path.dirname(fixture), options: GenerationConfigSchema.parse({}).image }),
        generate({ client, model: "sim", inference, stream: true, concurrency: 8 }),
        extractAnswer({ evalType: "multichoice" }),
        score(),
        map((s) => ({ id: s.row.id, correct: s.out.symbolic_correct })),
        toArray(),
      ),
    );
    await client.close();
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => typeof r.correct === "boolean")).toBe(true);
  });
});
