import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type OperatorFunction, pipe } from "rxjs";
import YAML from "yaml";
import { z } from "zod";
import type { EvalType } from "../benchmarks/eval-types.js";
import { formatZodError } from "../config/generation-config.js";
import { UsageError } from "../errors.js";
import { packageRoot } from "../paths.js";
import { type LoadedPrompt, loadPromptConfig } from "../prompts/load-prompt-config.js";
import type { Sample } from "../types.js";
import { STAGES, type StageContext, type StageName } from "./stages.js";

type StageEntry = string | Record<string, unknown>;

/** A pipeline file: `stages` is a list of stage names, or `{name: options}` entries. */
export const PipelineFileSchema = z
  .object({
    description: z.string().optional(),
    stages: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).min(1),
  })
  .strict();

export type PipelineStage = { name: StageName; options: Record<string, unknown> };

export type LoadedPipeline = {
  file: string;
  description?: string;
  stages: PipelineStage[];
  prompts: Map<string, LoadedPrompt>;
  /** Changes when a stage, an option or a prompt config it names changes: resume compares it. */
  hash: string;
  /** What the hash is of, for a refusal to name what changed: the stages as written, each prompt's hash. */
  identity: PipelineIdentity;
};

export type PipelineIdentity = { stages: PipelineStage[]; prompts: Record<string, string> };

/** `mmmu-pro` -> <package>/pipelines/mmmu-pro.yaml; a value ending in .yaml/.yml is a path. */
export async function loadPipeline(nameOrPath: string, cwd = process.cwd()): Promise<LoadedPipeline> {
  const file = /\.ya?ml$/i.test(nameOrPath)
    ? path.resolve(cwd, nameOrPath)
    : path.join(packageRoot, "pipelines", `${nameOrPath}.yaml`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(
      `pipeline not found: ${file} (give a name under pipelines/, e.g. mmmu-pro, or a path ending in .yaml)`,
    );
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new UsageError(`pipeline ${file} is not valid YAML: ${(e as Error).message}`);
  }
  const r = PipelineFileSchema.safeParse(raw ?? {});
  if (!r.success) throw new UsageError(`pipeline ${file}:\n${formatZodError(r.error, "", PipelineFileSchema)}`);
  checkStageOrder(r.data.stages, file);
  return resolvePipeline(r.data.stages, file, r.data.description);
}

/** What a stage needs an earlier stage for, and why (a chain that cannot work is refused up front). */
const NEEDS: Partial<Record<StageName, { after: StageName; why: string }>> = {
  generate: { after: "renderPrompt", why: "it sends the messages renderPrompt builds" },
  resolveImages: { after: "renderPrompt", why: "it resolves the images of the messages renderPrompt builds" },
  runFeedback: { after: "generate", why: "it feeds back each generated row" },
  score: { after: "extractAnswer", why: "it compares extractAnswer's predicted_answer with expected_answer" },
};
/** Stages that read `generation`: in a chain that generates, they come after it. */
const READ_GENERATION: readonly string[] = ["parseReasoning", "extractAnswer", "judge"];

/**
 * Refuses, before any work, a pipeline file whose order cannot work: a stage listed before (or
 * without) the stage it needs (generate without renderPrompt failed every row; score without
 * extractAnswer scored every row wrong), or one reading the generation placed before generate.
 */
function checkStageOrder(entries: StageEntry[], file: string): void {
  const names = entries.map((e) => (typeof e === "string" ? e : (Object.keys(e)[0] ?? "")));
  const firstGenerate = names.indexOf("generate");
  names.forEach((name, i) => {
    const need = NEEDS[name as StageName];
    if (need && !names.slice(0, i).includes(need.after)) {
      throw new UsageError(`pipeline ${file}: stage ${i + 1} (${name}) needs ${need.after} before it: ${need.why}`);
    }
    if (READ_GENERATION.includes(name) && firstGenerate > i) {
      throw new UsageError(
        `pipeline ${file}: stage ${i + 1} (${name}) comes before generate (stage ${firstGenerate + 1}), ` +
          "so it would not see the generation: put it after generate",
      );
    }
  });
}

/** Validates each stage's options and loads the prompt configs they name. */
export async function resolvePipeline(
  entries: StageEntry[],
  file: string,
  description?: string,
): Promise<LoadedPipeline> {
  const stages: PipelineStage[] = entries.map((entry, i) => {
    const [name, options] = typeof entry === "string" ? [entry, {}] : (Object.entries(entry)[0] ?? ["", {}]);
    if (typeof entry === "object" && Object.keys(entry).length !== 1) {
      throw new UsageError(`pipeline ${file}: stage ${i + 1} must be a name or {name: options}`);
    }
    const def = (STAGES as Record<string, (typeof STAGES)[StageName]>)[name];
    if (!def)
      throw new UsageError(`pipeline ${file}: unknown stage "${name}"; known: ${Object.keys(STAGES).join(", ")}`);
    const parsed = def.options.safeParse(options ?? {});
    if (!parsed.success) {
      throw new UsageError(
        `pipeline ${file}, stage ${i + 1} (${name}):\n${formatZodError(parsed.error, "", def.options)}`,
      );
    }
    return { name: name as StageName, options: parsed.data as Record<string, unknown> };
  });
  const prompts = new Map<string, LoadedPrompt>();
  for (const s of stages) {
    const def = STAGES[s.name] as { prompts?: (o: unknown) => string[] };
    for (const p of def.prompts?.(s.options) ?? []) if (!prompts.has(p)) prompts.set(p, await loadPromptConfig(p));
  }
  // Where a stage's server is, like --server_address, is not part of what the rows are: a judge
  // moved to another host resumes (its model and prompt still count).
  const hashed = stages.map(({ name, options: { server_address: _where, ...options } }) => ({ name, options }));
  const hash = createHash("sha256")
    .update(JSON.stringify({ stages: hashed, prompts: [...prompts].map(([k, v]) => [k, v.hash]) }))
    .digest("hex")
    .slice(0, 16);
  const identity = { stages: hashed, prompts: Object.fromEntries([...prompts].map(([k, v]) => [k, v.hash])) };
  // The hash is of the stages as written, so that this shorthand's expansion never changes it.
  return { file, description, stages: withGenerateFollowers(stages), prompts, hash, identity };
}

/** What the standard chain runs right after `generate`. */
const GENERATE_FOLLOWERS: PipelineStage[] = [
  { name: "runFeedback", options: {} },
  { name: "parseReasoning", options: { end_reasoning_string: "</think>", follow_settings: true } },
];

/**
 * A pipeline that names `generate` but not `runFeedback` (every pipeline file written before the
 * stage existed) gets the standard chain's followers after each `generate`, so that `++max_failures`
 * and `++parse_reasoning` apply to it; one that names `runFeedback` runs exactly what it lists.
 */
function withGenerateFollowers(stages: PipelineStage[]): PipelineStage[] {
  if (stages.some((s) => s.name === "runFeedback")) return stages;
  return stages.flatMap((s) => (s.name === "generate" ? [s, ...GENERATE_FOLLOWERS] : [s]));
}

/** What follows generation (and all that `score` runs): the reasoning split, then extraction and scoring. */
function evaluationEntries(evalType: EvalType | undefined): StageEntry[] {
  return [
    { parseReasoning: { follow_settings: true } },
    ...(evalType ? [{ extractAnswer: { eval_type: evalType } }, "score"] : []),
  ];
}

/**
 * `vlmpipe generate`'s chain, every stage listed: prompt, images, generation, its feedback to the
 * run, the reasoning split (with ++parse_reasoning), then extraction and scoring with an eval type.
 */
export function standardPipeline(promptConfig: string, evalType?: EvalType): Promise<LoadedPipeline> {
  return resolvePipeline(
    [
      { renderPrompt: { prompt_config: promptConfig } },
      "resolveImages",
      "generate",
      "runFeedback",
      ...evaluationEntries(evalType),
    ],
    "(generate)",
  );
}

/** `vlmpipe score`'s chain: the stages that follow generation in the standard chain. */
export function scoringPipeline(evalType: EvalType): Promise<LoadedPipeline> {
  return resolvePipeline(evaluationEntries(evalType), "(score)");
}

/** The prompt config whose image options apply to the run (the first renderPrompt's). */
export function mainPrompt(p: LoadedPipeline): LoadedPrompt | undefined {
  const first = p.stages.find((s) => s.name === "renderPrompt");
  return first ? p.prompts.get(first.options.prompt_config as string) : undefined;
}

type AnyStage = { build(o: unknown, c: StageContext): OperatorFunction<Sample, Sample> };

export function buildPipeline(p: LoadedPipeline, ctx: StageContext): OperatorFunction<Sample, Sample> {
  const ops = p.stages.map((s) => (STAGES[s.name] as AnyStage).build(s.options, ctx));
  return ops.reduce<OperatorFunction<Sample, Sample>>((acc, op) => pipe(acc, op), pipe());
}
