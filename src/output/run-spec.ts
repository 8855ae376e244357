import { readFile, writeFile } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { withoutCacheSettings } from "../images/options.js";

/**
 * What makes two runs' rows comparable. Written beside the output when a run starts
 * (`<out>.spec.json`); a resume with different values refuses to mix them.
 */
export type RunSpec = {
  vlmpipe_version: string;
  model: string;
  prompt_config: string;
  prompt_hash: string;
  inference: Record<string, unknown>;
  generation: Record<string, unknown>;
  input_file: string;
  created: string;
};

/** Keys compared on resume; the rest (times, paths, version) is informational. */
const COMPARED = ["model", "prompt_hash", "inference", "generation"] as const;

export async function readSpec(file: string): Promise<RunSpec | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as RunSpec;
  } catch {
    return null;
  }
}

export async function writeSpec(file: string, spec: RunSpec): Promise<void> {
  await writeFile(file, JSON.stringify(spec, null, 2) + "\n");
}

/** Throws a UsageError listing each difference, unless they match. */
export function checkSameRun(prev: RunSpec, next: RunSpec, outputFile: string): void {
  const diffs: string[] = [];
  // Specs written by earlier builds kept image.cache_bytes: cache settings are not compared.
  const image = prev.generation?.image as Record<string, unknown> | undefined;
  const old = image ? { ...prev, generation: { ...prev.generation, image: withoutCacheSettings(image) } } : prev;
  for (const k of COMPARED) {
    const a = JSON.stringify(old[k]);
    const b = JSON.stringify(next[k]);
    if (a !== b) diffs.push(`  ${k}: was ${a}, now ${b}`);
  }
  if (diffs.length) {
    throw new UsageError(
      `${outputFile} holds rows of a different run; resuming would mix them:\n${diffs.join("\n")}\n` +
        "Use the same settings to resume, --overwrite to start over, or another --output_file.",
    );
  }
}
