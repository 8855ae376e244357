import { readFile, writeFile } from "node:fs/promises";
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

/**
 * The compared settings that differ, as dotted paths with both values:
 * `inference.temperature: was 0, now 0.7`. Empty when the runs match.
 */
export function specDifferences(prev: RunSpec, next: RunSpec): string[] {
  // Specs written by earlier builds kept image.cache_bytes (cache settings are not compared)
  // and had no simulator key (read as null).
  const image = prev.generation?.image as Record<string, unknown> | undefined;
  const old = image ? { ...prev, generation: { ...prev.generation, image: withoutCacheSettings(image) } } : prev;
  const pick = (s: RunSpec) => Object.fromEntries(COMPARED.map((k) => [k, s[k] ?? null]));
  return diff(pick(old), pick(next)).map((d) => {
    const was = d.type === "CREATE" ? "(not set)" : shown(d.oldValue);
    const now = d.type === "REMOVE" ? "(not set)" : shown(d.value);
    return `${d.path.join(".")}: was ${was}, now ${now}`;
  });
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
