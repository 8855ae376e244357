import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;
const sims: SimServer[] = [];
beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, 6, { images: false });
});
afterAll(() => Promise.all(sims.map((s) => s.close())));

async function run(simOpts: Parameters<typeof startSimServer>[0], extra: string[]) {
  const sim = await startSimServer({ model: "r", answer_rows: data.rows as never, ...simOpts });
  sims.push(sim);
  const out = path.join(await tempDir(), "o.jsonl");
  const r = await cli([
    "generate",
    "--input_file",
    data.file,
    "--output_file",
    out,
    "--prompt_config",
    "vlm/mmmu-pro",
    "--model",
    "r",
    "--server_address",
    `${sim.url}/v1`,
    "--eval_type",
    "multichoice",
    "--quiet",
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return parseLines(await readFile(out, "utf8"));
}

describe("reasoning models", () => {
  it("keeps a server-parsed reasoning field as reasoning_content, the answer from content", async () => {
    const rows = await run({ reasoning: "field" }, []);
    for (const r of rows) {
      expect(typeof r.reasoning_content).toBe("string");
      expect(r.generation).not.toContain("<think>");
      expect(r.symbolic_correct).toBe(true);
    }
  });

  it("with ++parse_reasoning=True keeps the text after </think> as the generation", async () => {
    const rows = await run({ reasoning: "think" }, ["++parse_reasoning=True"]);
    for (const r of rows) {
      expect(r._full_generation).toMatch(/^<think>[\s\S]*<\/think>/);
      expect(r.generation).not.toContain("</think>");
      expect(r.predicted_answer).toBe(r.expected_answer);
    }
  });

  it("marks a generation cut before </think> as unfinished thinking with no answer", async () => {
    const rows = await run({ reasoning: "think" }, ["++parse_reasoning=True", "++inference.tokens_to_generate=3"]);
    for (const r of rows) {
      expect(r.finish_reason).toBe("length");
      expect(r._unfinished_reasoning).toBe(true);
      expect(r.predicted_answer).toBeNull();
      expect(r.symbolic_correct).toBe(false);
    }
  });
});
