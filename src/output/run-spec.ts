import { open, readFile, rename } from "node:fs/promises";
import diff from "microdiff";
import { UsageError } from "../errors.js";
import { withoutCacheSettings } from "../images/options.js";

/**
 * What makes two runs' rows comparable. Written beside the output when a run starts
 * (`<out>.spec.json`), and only counts while the output holds a row: a run that ended before
 * its first row leaves nothing that binds the next one. A resume with different values
 * refuses to mix them; the rows themselves are checked by their digests (see open-output.ts).
 */
export type RunSpec = {
  vlmpipe_version: string;
  model: string;
  prompt_config: string;
  prompt_hash: string;
  /** A pipeline run's stages and prompt hashes (what prompt_hash is of): read to name what changed. */
  pipeline?: { stages: { name: string; options: Record<string, unknown> }[]; prompts: Record<string, string> };
  inference: Record<string, unknown>;
  generation: Record<string, unknown>;
  /** `--server_type sim`: the simulator's settings that decide its answers (null: a real server). */
  simulator?: Record<string, unknown> | null;
  input_file: string;
  /** The input's size when the spec was written: rows starting past it were appended since. */
  input_bytes?: number | null;
  created: string;
};

/** Keys compared on resume; the rest (times, paths, sizes, version) is informational. */
const COMPARED = ["model", "prompt_hash", "inference", "generation", "simulator"] as const;

/** The spec, or null when there is none or it cannot be read (for reports and listings). */
export async function readSpec(file: string): Promise<RunSpec | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as RunSpec;
  } catch {
    return null;
  }
}

/**
 * The spec that binds an output holding rows: null when there is none (an output of another
 * tool, or of a version before specs); a spec that is there but empty or not JSON refuses the
 * run, since the settings of the rows already written could not be checked.
 */
export async function readBindingSpec(
  file: string,
  outputFile: string,
  overrideFlags: string,
): Promise<RunSpec | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  try {
    const spec = JSON.parse(text) as unknown;
    if (spec && typeof spec === "object" && !Array.isArray(spec)) return spec as RunSpec;
  } catch {
    // reported below
  }
  throw new UsageError(
    `${file} is ${text.trim() ? "not a run spec (JSON)" : "empty"}, so the settings of the rows ${outputFile} ` +
      `holds cannot be checked against this run's. Use ${overrideFlags} to discard them and start over, ` +
      `or delete ${file} to resume without the settings check (the rows are still checked against the input).`,
  );
}

/**
 * Written to a temporary file, flushed and renamed: a kill or a crash leaves the previous spec
 * or the new one, never an empty one (which could not bind the rows written under it).
 */
export async function writeSpec(file: string, spec: RunSpec): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(JSON.stringify(spec, null, 2) + "\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/**
 * The compared settings that differ, as dotted paths with both values:
 * `inference.temperature: was 0, now 0.7`. Empty when the runs match.
 */
export function specDifferences(prev: RunSpec, next: RunSpec): string[] {
  // Specs written by earlier builds kept image.cache_bytes (cache settings are not compared)
  // and had no simulator key (read as null). Specs before eval_config was recorded (it is compared since) are read as having this run's.
  const image = prev.generation?.image as Record<string, unknown> | undefined;
  const generation = { ...prev.generation };
  if (image) generation.image = withoutCacheSettings(image);
  if (prev.generation && !("eval_config" in prev.generation) && next.generation && "eval_config" in next.generation)
    generation.eval_config = next.generation.eval_config;
  const old = prev.generation ? { ...prev, generation } : prev;
  const pick = (s: RunSpec) => Object.fromEntries(COMPARED.map((k) => [k, s[k] ?? null]));
  const lines = diff(pick(old), pick(next)).map((d) => line(d.path.join("."), d));
  // A pipeline's hash differs: name the stage option or prompt that changed, when both specs say.
  const at = lines.findIndex((l) => l.startsWith("prompt_hash:"));
  if (at >= 0 && prev.pipeline && next.pipeline) {
    const stages =
      next.pipeline.stages.length >= prev.pipeline.stages.length ? next.pipeline.stages : prev.pipeline.stages;
    const named = diff(prev.pipeline, next.pipeline).map((d) => {
      const [top, i, ...rest] = d.path;
      const where =
        top === "stages" && typeof i === "number"
          ? `pipeline stage ${i + 1} (${stages[i]?.name ?? "?"})${rest.length ? `.${rest.join(".")}` : ""}`
          : `pipeline ${d.path.join(".")}`;
      return line(where, d);
    });
    if (named.length > 0) lines.splice(at, 1, ...named);
  }
  return lines;
}

function line(where: string, d: { type: string; oldValue?: unknown; value?: unknown }): string {
  const was = d.type === "CREATE" ? "(not set)" : shown(d.oldValue);
  const now = d.type === "REMOVE" ? "(not set)" : shown(d.value);
  return `${where}: was ${was}, now ${now}`;
}

function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Throws a UsageError naming each differing setting and the flag that overrides, unless they match. */
export function checkSameRun(prev: RunSpec, next: RunSpec, outputFile: string, overrideFlags = "--overwrite"): void {
  const diffs = specDifferences(prev, next);
  if (diffs.length === 0) return;
  throw new UsageError(
    `${outputFile} holds rows of a different run; resuming would mix them:\n` +
      diffs.map((d) => `  ${d}`).join("\n") +
      `\nUse the earlier settings to resume, ${overrideFlags} to discard it and start over, or another output.`,
  );
}
