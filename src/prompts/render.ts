import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import type { ChatMessage, ContentPart } from "../types.js";
import type { PromptConfig } from "./schema.js";
import { Template } from "./template.js";

export type RenderOptions = { systemMessage?: string; promptSuffix?: string };

/**
 * Compiles a prompt config once and renders rows into OpenAI chat messages. Image parts
 * carry the row's raw references (paths, URLs); resolveImages turns them into data URLs.
 */
export function createRenderer(config: PromptConfig, opts: RenderOptions = {}) {
  // As NeMo-Skills' Prompt.fill: a system message whenever one is set ("" too), filled from the
  // row; `{examples}` is "" without examples; ++prompt_suffix is appended to the filled text as
  // it is (generate.py's fill_prompt), braces and all.
  const user = template(config.user, "user");
  const suffix = opts.promptSuffix ?? "";
  const systemText = opts.systemMessage ?? config.system;
  const system =
    systemText === undefined
      ? undefined
      : template(systemText, opts.systemMessage === undefined ? "system" : "++system_message");
  const examples = config.examples;
  const exampleTpl = examples ? template(examples.template, "examples.template") : undefined;
  const filled =
    examples && exampleTpl ? examples.items.map((ex, i) => exampleTpl.fill(ex, `example ${i}`)).join("") : "";
  const examplesText = filled && examples ? examples.prefix + filled + examples.suffix : "";
  // (A row is filled as it is, no object made for it, unless the template has {examples}.)
  const usesExamples = user.fields.includes("examples");
  const imageFields = config.image_field === undefined ? [] : [config.image_field].flat();
  const marker = markerPattern(config.image_marker);

  return function render(row: Record<string, unknown>, index: number): ChatMessage[] {
    // One image field named by the config and absent from the row is a data bug, not a
    // text-only question (that is written as null).
    if (typeof config.image_field === "string" && !(config.image_field in row)) {
      throw new VlmError(
        ErrorCodes.MISSING_FIELD,
        `row ${index} has no field "${config.image_field}" (the prompt config's image_field); set it to null for a question without an image`,
      );
    }
    const text = user.fill(usesExamples ? { examples: examplesText, ...row } : row, `row ${index}`) + suffix;
    const messages: ChatMessage[] = system ? [{ role: "system", content: system.fill(row, `row ${index}`) }] : [];
    const content =
      config.image_position === "markers"
        ? interleave(text, row, index, config, marker, imageFields)
        : around(text, collectImages(row, imageFields, index), config.image_position);
    messages.push({ role: "user", content });
    return messages;
  };
}

/**
 * The config's templates compiled, or a UsageError naming the one that cannot be (a set-up
 * error: no row can be rendered with it).
 */
export function checkTemplates(config: PromptConfig): void {
  template(config.user, "user");
  if (config.system !== undefined) template(config.system, "system");
  if (config.examples) template(config.examples.template, "examples.template");
  markerPattern(config.image_marker);
}

function template(source: string, key: string): Template {
  try {
    return new Template(source);
  } catch (e) {
    throw new UsageError(`${key}: ${(e as Error).message}`);
  }
}

function around(text: string, refs: string[], position: "before" | "after"): string | ContentPart[] {
  if (refs.length === 0) return text;
  const images = refs.map(imagePart);
  const t: ContentPart = { type: "text", text };
  return position === "before" ? [...images, t] : [t, ...images];
}

/** Image references from the configured fields: a string, a list of strings, or nothing. */
function collectImages(row: Record<string, unknown>, fields: string[], index: number): string[] {
  const refs: string[] = [];
  for (const f of fields) {
    const v = row[f];
    if (v === undefined || v === null || v === "") continue;
    for (const ref of [v].flat()) {
      if (typeof ref !== "string" || ref === "") {
        // An empty item is an image missing from the list; a number or an object, a wrong type.
        throw new VlmError(
          ref === "" || ref === null ? ErrorCodes.MISSING_FIELD : ErrorCodes.PROMPT_CONFIG,
          `row ${index}: image field "${f}" must hold a path or URL (or a list of them)`,
        );
      }
      refs.push(ref);
    }
  }
  return refs;
}

/**
 * Splits the text at each marker and puts that image there. An image is placed once, at its
 * first marker (later markers stay as text); images no marker names go before the text.
 */
function interleave(
  text: string,
  row: Record<string, unknown>,
  index: number,
  config: PromptConfig,
  marker: RegExp,
  fields: string[],
): string | ContentPart[] {
  const parts: ContentPart[] = [];
  const placed = new Set<string>();
  let last = 0;
  for (const m of text.matchAll(marker)) {
    const n = m[1] as string;
    const field = config.image_marker_field.replaceAll("{n}", n);
    if (placed.has(field)) continue;
    const ref = row[field];
    if (typeof ref !== "string" || ref === "") {
      const missing = ref === undefined || ref === null || ref === "";
      throw new VlmError(
        missing ? ErrorCodes.MISSING_FIELD : ErrorCodes.PROMPT_CONFIG,
        `row ${index}: the text refers to ${m[0]} but field "${field}" holds ${missing ? "no image" : "no path or URL"}`,
      );
    }
    const before = text.slice(last, m.index);
    if (before) parts.push({ type: "text", text: before });
    parts.push(imagePart(ref));
    placed.add(field);
    last = (m.index ?? 0) + m[0].length;
  }
  const rest = text.slice(last);
  if (rest) parts.push({ type: "text", text: rest });
  const unplaced = collectImages(
    row,
    fields.filter((f) => !placed.has(f)),
    index,
  );
  if (placed.size === 0 && unplaced.length === 0) return text;
  return [...unplaced.map(imagePart), ...parts];
}

function markerPattern(tpl: string): RegExp {
  const [pre, post] = tpl.split("{n}") as [string, string | undefined];
  if (post === undefined) throw new UsageError(`image_marker: "${tpl}" must contain {n}`);
  return new RegExp(`${escapeRe(pre)}(\\d+)${escapeRe(post)}`, "g");
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function imagePart(url: string): ContentPart {
  return { type: "image_url", image_url: { url } };
}
