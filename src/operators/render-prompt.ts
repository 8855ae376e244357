import { map, type OperatorFunction } from "rxjs";
import { createRenderer, type RenderOptions } from "../prompts/render.js";
import type { PromptConfig } from "../prompts/schema.js";
import type { Sample } from "../types.js";
import { withError } from "./sample-error.js";

/**
 * Builds `sample.messages` (OpenAI chat format) from the row and a prompt config. Image parts
 * hold the row's references as they are; resolveImages makes them sendable.
 * Records VLM_E_MISSING_FIELD when the template names a field the row lacks.
 *
 *   rows.pipe(renderPrompt((await loadPromptConfig("vlm/mmmu-pro")).config))
 */
export function renderPrompt(
  config: PromptConfig,
  opts: RenderOptions & {
    /** Also fill placeholders from what earlier stages added (`out`: generation, ...): judge prompts. */
    withOutputs?: boolean;
  } = {},
): OperatorFunction<Sample, Sample> {
  const render = createRenderer(config, opts);
  return map((s) => {
    if (s.error) return s;
    try {
      return { ...s, messages: render(opts.withOutputs ? { ...s.row, ...s.out } : s.row, s.index) };
    } catch (e) {
      return withError(s, "renderPrompt", e);
    }
  });
}
