import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { formatZodError } from "../config/generation-config.js";
import { UsageError } from "../errors.js";
import { packageRoot } from "../paths.js";
import { checkTemplates } from "./render.js";
import { type PromptConfig, PromptConfigSchema } from "./schema.js";

export type LoadedPrompt = { config: PromptConfig; file: string; hash: string };

/**
 * `vlm/mmmu-pro` -> <package>/prompts/vlm/mmmu-pro.yaml; a value ending in .yaml/.yml is a path.
 * Any problem here is a set-up error: the run has not started.
 */
export async function loadPromptConfig(nameOrPath: string, cwd = process.cwd()): Promise<LoadedPrompt> {
  const file = /\.ya?ml$/i.test(nameOrPath)
    ? path.resolve(cwd, nameOrPath)
    : path.join(packageRoot, "prompts", `${nameOrPath}.yaml`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(
      `prompt config not found: ${file} (--prompt_config takes a name under prompts/, e.g. vlm/mmmu-pro, or a path ending in .yaml)`,
    );
  }
  return parsePromptConfig(text, file);
}

export function parsePromptConfig(text: string, file = "<inline>"): LoadedPrompt {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new UsageError(`prompt config ${file} is not valid YAML: ${(e as Error).message}`);
  }
  const r = PromptConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new UsageError(`prompt config ${file}:\n${formatZodError(r.error, "", PromptConfigSchema)}`);
  // A placeholder no row can fill is found here, before a server is started or a row read.
  try {
    checkTemplates(r.data);
  } catch (e) {
    throw new UsageError(`prompt config ${file}: ${(e as Error).message}`);
  }
  const hash = createHash("sha256").update(JSON.stringify(r.data)).digest("hex").slice(0, 16);
  return { config: r.data, file, hash };
}
