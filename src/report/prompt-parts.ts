import type { RunSpec } from "../output/run-spec.js";
import { type LoadedPrompt, loadPromptConfig } from "../prompts/load-prompt-config.js";
import { createRenderer } from "../prompts/render.js";
import type { PromptPart } from "./types.js";

/** A row's prompt as the model saw it: text and image parts (indexes into `refs`, the image references). */
export type RowPrompt = { system?: string; prompt: PromptPart[]; refs: string[] };

export type PromptBuilder = (row: Record<string, unknown>, index: number) => RowPrompt;

/**
 * How the report shows a row's prompt. When the run's spec names a prompt config that still
 * exists with the same hash, rows are rendered with it (system message, template, images where
 * the model got them: before, after or at their `<image N>` markers); otherwise, and for a row
 * the config cannot render, the images come first and then the row's `problem` (or `question`).
 */
export async function promptBuilder(spec: RunSpec | null): Promise<PromptBuilder> {
  const render = await specRenderer(spec);
  return (row, index) => {
    if (render) {
      try {
        return render(row, index);
      } catch {
        // A row the config cannot render failed in the run too; show what the row holds.
      }
    }
    return plainPrompt(row);
  };
}

async function specRenderer(spec: RunSpec | null): Promise<PromptBuilder | undefined> {
  if (!spec || typeof spec.prompt_config !== "string") return undefined;
  let loaded: LoadedPrompt;
  try {
    loaded = await loadPromptConfig(spec.prompt_config);
  } catch {
    return undefined;
  }
  // The config changed since the run: its text would not be the prompt the model saw.
  if (spec.prompt_hash && loaded.hash !== spec.prompt_hash) return undefined;
  const gen = (spec.generation ?? {}) as Record<string, unknown>;
  const render = createRenderer(loaded.config, {
    systemMessage: typeof gen.system_message === "string" ? gen.system_message : undefined,
    promptSuffix: typeof gen.prompt_suffix === "string" ? gen.prompt_suffix : undefined,
  });
  return (row, index) => {
    const out: RowPrompt = { prompt: [], refs: [] };
    for (const m of render(row, index)) {
      if (m.role === "system") {
        out.system =
          typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join("");
        continue;
      }
      if (typeof m.content === "string") {
        out.prompt.push({ text: m.content });
        continue;
      }
      for (const p of m.content) {
        if (p.type === "text") out.prompt.push({ text: p.text });
        else out.prompt.push({ image: refIndex(out.refs, p.image_url.url) });
      }
    }
    return out;
  };
}

/** Images first (as the vision prompt sends them), then the question text. */
export function plainPrompt(row: Record<string, unknown>): RowPrompt {
  const refs: string[] = [];
  const prompt: PromptPart[] = [];
  for (const ref of imageRefs(row)) prompt.push({ image: refIndex(refs, ref) });
  const text = row.problem ?? row.question;
  if (text !== undefined && text !== null)
    prompt.push({ text: typeof text === "string" ? text : JSON.stringify(text) });
  return { prompt, refs };
}

const NUMBERED = /^image_(\d+)$/;

/** Image references in the fields vlmpipe and NeMo-Skills use: image_path(s), images, image, image_1, image_2, ... */
export function imageRefs(row: Record<string, unknown>): string[] {
  const numbered = Object.keys(row)
    .filter((k) => NUMBERED.test(k))
    .sort((a, b) => Number(NUMBERED.exec(a)![1]) - Number(NUMBERED.exec(b)![1]));
  const refs: string[] = [];
  for (const field of ["image_path", "image_paths", "images", "image", ...numbered]) {
    for (const v of [row[field]].flat()) {
      if (typeof v === "string" && v !== "" && !refs.includes(v)) refs.push(v);
    }
  }
  return refs;
}

function refIndex(refs: string[], ref: string): number {
  const i = refs.indexOf(ref);
  if (i >= 0) return i;
  refs.push(ref);
  return refs.length - 1;
}
