import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type RunSpec, specDifferences, writeSpec } from "../../src/output/run-spec.js";

const spec = (generation: Record<string, unknown>): RunSpec => ({
  vlmpipe_version: "0.1.0",
  model: "m",
  prompt_config: "p",
  prompt_hash: "h",
  inference: { temperature: 0 },
  generation,
  simulator: null,
  input_file: "in.jsonl",
  created: "2026-12-07T00:00:00.000Z",
});

describe("the run spec", () => {
  it("compares eval_config, reading a spec written before it was recorded as having this run's", () => {
    const scoring = { eval_type: "multichoice", eval_config: { relaxed: true, normalize_expected_answer: false } };
    const other = { eval_type: "multichoice", eval_config: { relaxed: true, normalize_expected_answer: true } };
    expect(specDifferences(spec(scoring), spec(other))).toEqual([
      "generation.eval_config.normalize_expected_answer: was false, now true",
    ]);
    expect(specDifferences(spec({ eval_type: "multichoice" }), spec(other))).toEqual([]);
    // A key the earlier spec had is compared as ever.
    expect(specDifferences(spec({ eval_type: null }), spec(other))).toEqual([
      'generation.eval_type: was null, now "multichoice"',
    ]);
  });

  it("names the pipeline stage option or prompt that changed instead of the pipeline's hash", async () => {
    const { resolvePipeline } = await import("../../src/pipelines/pipeline.js");
    const run = async (judge: Record<string, unknown>): Promise<RunSpec> => {
      const p = await resolvePipeline(
        [
          { renderPrompt: { prompt_config: "vlm/open-answer" } },
          "generate",
          { judge: { prompt_config: "judge/open-answer", ...judge } },
        ],
        "x",
      );
      return { ...spec({}), prompt_hash: p.hash, pipeline: p.identity };
    };
    expect(specDifferences(await run({ model: "j" }), await run({ model: "k" }))).toEqual([
      'pipeline stage 3 (judge).options.model: was "j", now "k"',
    ]);
    expect(specDifferences(await run({ model: "j" }), await run({ model: "j", output_key: "verdict" }))).toEqual([
      'pipeline stage 3 (judge).options.output_key: was "judgement", now "verdict"',
    ]);
    // A spec written before pipelines were recorded: the hash is all there is to name.
    const { pipeline: _, ...old } = await run({ model: "j" });
    expect(specDifferences(old, await run({ model: "k" }))).toEqual([
      expect.stringMatching(/^prompt_hash: was "\w+", now "\w+"$/),
    ]);
  });

  it("is written whole through a temporary file that does not stay", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-spec-"));
    const file = path.join(dir, "out.jsonl.spec.json");
    await writeSpec(file, spec({ eval_type: null }));
    await writeSpec(file, spec({ eval_type: "multichoice" }));
    expect(JSON.parse(await readFile(file, "utf8")).generation).toEqual({ eval_type: "multichoice" });
    expect(await readdir(dir)).toEqual(["out.jsonl.spec.json"]);
  });
});
