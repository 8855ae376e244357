import { firstValueFrom } from "rxjs";
import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import { readRows } from "../operators/read-rows.js";
import type { LoadedPrompt } from "../prompts/load-prompt-config.js";
import { createRenderer, type RenderOptions } from "../prompts/render.js";

/**
 * Before any request: the prompt config must render the input's first row. A field the
 * template names and the row lacks would fail every row of a mismatched data set, one
 * request slot at a time; it stops the run here instead (exit 2), naming the fields the row has.
 * Later rows missing a field are still that row's error. Stdin is not read ahead.
 */
export async function checkFirstRow(opts: {
  inputFile: string;
  prompt: LoadedPrompt | undefined;
  render: RenderOptions;
  rowRange?: { start: number; end: number };
}): Promise<void> {
  if (opts.inputFile === "-" || !opts.prompt) return;
  const start = opts.rowRange?.start ?? 0;
  const rows = readRows(opts.inputFile, { rowRange: { start, end: start + 1 } });
  const first = await firstValueFrom(rows, { defaultValue: undefined });
  if (!first || first.error) return; // no rows, or a line that is not a row: reported as a row's error
  try {
    createRenderer(opts.prompt.config, opts.render)(first.row, first.index);
  } catch (e) {
    if (!(e instanceof VlmError) || e.code !== ErrorCodes.MISSING_FIELD) return;
    // (A placeholder's message lists the row's fields already.)
    const has = e.message.includes("(fields:") ? "" : ` (the row has: ${Object.keys(first.row).join(", ") || "none"})`;
    const which = start === 0 ? "the first row" : `row ${start + 1}`;
    const what = `the prompt config ${opts.prompt.file} cannot render ${which} of ${opts.inputFile}`;
    throw new UsageError(`${what}: ${e.message}${has}`);
  }
}
