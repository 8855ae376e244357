import { writeFile } from "node:fs/promises";
import path from "node:path";
import { lastValueFrom, of, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { EVAL_TYPE_NAMES, EVAL_TYPES } from "../../src/benchmarks/eval-types.js";
import { parseGenerationConfig } from "../../src/config/generation-config.js";
import { offlineContext } from "../../src/pipelines/offline-context.js";
import {
  buildPipeline,
  loadPipeline,
  resolvePipeline,
  scoringPipeline,
  standardPipeline,
} from "../../src/pipelines/pipeline.js";
import type { Sample } from "../../src/types.js";
import { tempDir } from "../helpers/dataset.js";

const names = (p: { stages: { name: string }[] }) => p.stages.map((s) => s.name);

describe("the standard chain", () => {
  it("lists every stage it runs, the run's feedback and the reasoning split included", async () => {
    expect(names(await standardPipeline("vlm/mmmu-pro"))).toEqual([
      "renderPrompt",
      "resolveImages",
      "generate",
      "runFeedback",
      "parseReasoning",
    ]);
    expect(names(await standardPipeline("vlm/mmmu-pro", "mmmu-pro-official"))).toEqual([
      "renderPrompt",
      "resolveImages",
      "generate",
      "runFeedback",
      "parseReasoning",
      "extractAnswer",
      "score",
    ]);
  });

  it("score runs the stages that follow generation in it, from the same registry", async () => {
    const standard = (await standardPipeline("vlm/mmmu-pro", "multichoice")).stages;
    const scoring = (await scoringPipeline("multichoice")).stages;
    expect(scoring).toEqual(standard.slice(standard.findIndex((s) => s.name === "parseReasoning")));
  });

  it("gives a pipeline file's bare generate the standard followers, and takes one naming runFeedback literally", async () => {
    const d = await tempDir();
    const bare = path.join(d, "bare.yaml");
    await writeFile(
      bare,
      "stages:\n  - renderPrompt: { prompt_config: vlm/mmmu-pro }\n  - generate\n  - extractAnswer\n  - score\n",
    );
    expect(names(await loadPipeline(bare))).toEqual([
      "renderPrompt",
      "generate",
      "runFeedback",
      "parseReasoning",
      "extractAnswer",
      "score",
    ]);
    const literal = path.join(d, "literal.yaml");
    await writeFile(
      literal,
      "stages:\n  - renderPrompt: { prompt_config: vlm/mmmu-pro }\n  - generate\n  - runFeedback\n",
    );
    expect(names(await loadPipeline(literal))).toEqual(["renderPrompt", "generate", "runFeedback"]);
  });

  it("hashes a pipeline as written, so the followers it is given leave its resume key as it was", async () => {
    const bare = await resolvePipeline(["generate"], "x");
    const spelledOut = await resolvePipeline(
      ["generate", "runFeedback", { parseReasoning: { follow_settings: true } }],
      "x",
    );
    expect(bare.stages).toEqual(spelledOut.stages);
    expect(bare.hash).not.toBe(spelledOut.hash);
  });

  it("leaves a judge's server_address out of the resume key, but not its model or prompt", async () => {
    const judge = (o: Record<string, unknown>) =>
      resolvePipeline(
        [
          { renderPrompt: { prompt_config: "vlm/open-answer" } },
          "generate",
          { judge: { prompt_config: "judge/open-answer", ...o } },
        ],
        "x",
      );
    const a = await judge({ server_address: "http://127.0.0.1:8001/v1", model: "j" });
    const b = await judge({ server_address: "http://10.0.0.7:9000/v1", model: "j" });
    const c = await judge({ server_address: "http://127.0.0.1:8001/v1", model: "k" });
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
    expect(a.stages.find((s) => s.name === "judge")?.options.server_address).toBe("http://127.0.0.1:8001/v1");
  });
});

describe("the offline chain (score)", () => {
  const row = (generation: string): Sample => ({
    index: 0,
    row: { generation, expected_answer: "B", options: "['x', 'y', 'z']" },
    out: {},
  });

  it("splits reasoning only with ++parse_reasoning, then extracts and scores", async () => {
    const run = async (overrides: Record<string, unknown>) => {
      const chain = buildPipeline(
        await scoringPipeline("multichoice"),
        offlineContext(parseGenerationConfig(overrides)),
      );
      return (await lastValueFrom(of(row("<think>Answer: A</think>\nAnswer: B")).pipe(chain, toArray())))[0]!.out;
    };
    expect((await run({ parse_reasoning: true })).predicted_answer).toBe("B");
    expect((await run({ parse_reasoning: true })).symbolic_correct).toBe(true);
    expect(await run({})).not.toHaveProperty("_full_generation");
  });

  it("refuses, when built, a stage that needs a server", async () => {
    const p = await resolvePipeline(["generate"], "(test)");
    expect(() => buildPipeline(p, offlineContext(parseGenerationConfig({})))).toThrow(/calls no model/);
  });
});

describe("the eval types", () => {
  it("are one list: the extractAnswer stage accepts each of its names and no other", async () => {
    expect(EVAL_TYPE_NAMES).toEqual(Object.keys(EVAL_TYPES));
    for (const t of EVAL_TYPE_NAMES) {
      const p = await resolvePipeline([{ extractAnswer: { eval_type: t } }], "(test)");
      expect(p.stages[0]?.options.eval_type).toBe(t);
    }
    await expect(resolvePipeline([{ extractAnswer: { eval_type: "nope" } }], "(test)")).rejects.toThrow(/eval_type/);
  });
});
