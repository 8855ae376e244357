import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { getPreparer } from "../../../src/benchmarks/index.js";
import type { PreparedSplit } from "../../../src/benchmarks/shared/hub-prepare.js";
import { type FakeHub, startFakeHub } from "../../helpers/fake-hub.js";

// The fake hub serves fixtures/hub: stand-ins for MMMU/MMMU, HuggingFaceM4/ChartQA and
// lmms-lab/DocVQA in their real layout and schema (fixtures/scripts/make-vqa-hubs.mjs).
const TOKEN = "hf_vqaPrepareToken7";
const FAST = { retries: 3, minDelayMs: 1, maxDelayMs: 5 };

let hub: FakeHub;
let dataDir: string;
const lines: string[] = [];

const jsonl = async (path: string) =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function prepare(benchmark: string, config: string): Promise<PreparedSplit[]> {
  const p = getPreparer(benchmark)!;
  return (await p.prepare({
    dataDir,
    config,
    repo: p.repo,
    env: { HF_ENDPOINT: hub.url, HF_TOKEN: TOKEN },
    log: (l) => lines.push(l),
    retry: FAST,
  })) as PreparedSplit[];
}

beforeAll(async () => {
  hub = await startFakeHub({ root: "fixtures/hub", token: TOKEN });
  dataDir = await mkdtemp(join(tmpdir(), "vlmpipe-vqa-"));
});

afterAll(async () => {
  await hub.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("prepare_data for mmmu, chartqa and docvqa against the fake hub", () => {
  test("mmmu all: the three splits of the 30 subjects, each in one file, validation as shipped", async () => {
    const done = await prepare("mmmu", "all");
    expect(done.map((d) => [d.label, d.rows, d.shards.length])).toEqual([
      ["mmmu validation", 60, 30],
      ["mmmu dev", 30, 30],
      ["mmmu test", 30, 30],
    ]);
    const rows = await jsonl(join(dataDir, "mmmu", "validation.jsonl"));
    expect(rows).toEqual(await jsonl("fixtures/data/mmmu/validation.jsonl"));
    expect(new Set(rows.map((r) => r.subset_for_metrics)).size).toBe(30);
    // The test split's withheld answers ("?" in the dataset) are no answer, so its rows get no verdict.
    const test = await jsonl(join(dataDir, "mmmu", "test.jsonl"));
    expect(test.map((r) => r.expected_answer)).toEqual(test.map(() => null));
    expect(new Set((await jsonl(join(dataDir, "mmmu", "dev.jsonl"))).map((r) => r.expected_answer))).not.toContain(
      null,
    );
    const images = await readdir(join(dataDir, "mmmu", "images"));
    for (const r of rows)
      for (const k of Object.keys(r).filter((k) => /^image_\d$/.test(k)))
        expect(images).toContain((r[k] as string).slice(7));
  });

  test("mmmu rows carry what the authors' parser needs, and the authors' prompt", async () => {
    const rows = await jsonl(join(dataDir, "mmmu", "validation.jsonl"));
    const mc = rows.find((r) => r.id === "validation_Art_Theory_1")!;
    expect(mc).toMatchObject({
      question_type: "multiple-choice",
      all_choices: ["A", "B", "C", "D", "E"],
      index2ans: { B: "<image 2>" },
      image_1: "images/validation_Art_Theory_1_1.png",
      image_2: "images/validation_Art_Theory_1_2.png",
    });
    expect(mc.problem).toMatch(
      /^Which option shows .*\?\n\(A\) art theory reading 40\n\(B\) <image 2>\n[\s\S]*\(E\) .*\n\nAnswer with the option's letter from the given choices directly\.$/,
    );
    const open = rows.find((r) => r.question_type === "open")!;
    expect(open.problem).toMatch(/\?\nAnswer the question using a single word or phrase\.$/);
    expect(open).not.toHaveProperty("all_choices");
  });

  test("chartqa test: human and augmented from human_or_machine, every label kept", async () => {
    const [done] = await prepare("chartqa", "test");
    expect([done!.rows, done!.images, done!.shards.length]).toEqual([20, 20, 1]);
    const rows = await jsonl(join(dataDir, "chartqa", "test.jsonl"));
    expect(rows).toEqual(await jsonl("fixtures/data/chartqa/test.jsonl"));
    expect(rows.filter((r) => r.subset_for_metrics === "human")).toHaveLength(10);
    expect(rows[4]).toMatchObject({
      id: "chartqa_test_4",
      expected_answer: "No",
      answers: ["No"],
      image_path: "images/chartqa_test_4.png",
    });
  });

  test("docvqa validation: both shards of the DocVQA folder only, one image per page", async () => {
    const [done] = await prepare("docvqa", "validation");
    expect([done!.rows, done!.images, done!.shards.length]).toEqual([20, 7, 2]);
    const rows = await jsonl(join(dataDir, "docvqa", "validation.jsonl"));
    expect(rows).toEqual(await jsonl("fixtures/data/docvqa/validation.jsonl"));
    expect(rows.some((r) => String(r.id).startsWith("info_"))).toBe(false);
    expect(rows[1]).toMatchObject({
      id: "49001",
      answers: ["ITC Limited", "ITC limited"],
      expected_answer: "ITC Limited",
      doc_id: 14000,
    });
    expect(hub.requests.some((q) => q.path.includes("InfographicVQA/validation"))).toBe(false);
  });

  test("says which shards it looked for when a split is not there", async () => {
    await expect(prepare("docvqa", "test")).rejects.toMatchObject({
      code: "VLM_E_DATA",
      message: expect.stringMatching(
        /no test-NNNNN-of-NNNNN\.parquet under lmms-lab\/DocVQA\/DocVQA@main; found DocVQA\/validation-00000-of-00002\.parquet/,
      ),
    });
  });
});
