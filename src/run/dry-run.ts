import { firstValueFrom } from "rxjs";
import { parseGenerationConfig } from "../config/generation-config.js";
import { UsageError } from "../errors.js";
import { buildRequest, type ServerType } from "../operators/build-request.js";
import { readRows } from "../operators/read-rows.js";
import { renderPrompt } from "../operators/render-prompt.js";
import { resolveImages } from "../operators/resolve-images.js";
import { loadPromptConfig } from "../prompts/load-prompt-config.js";
import { imageBaseDir, mergeImageOptions, withChatTemplateKwargs } from "./run-setup.js";

/**
 * `--dry_run`: the request the first row would send, built by the same operators as a real
 * run, with base64 images shortened so it can be read.
 */
export async function firstRequest(opts: {
  inputFile: string;
  promptConfig: string;
  model: string;
  overrides: Record<string, unknown>;
  dataDir?: string;
  /** --server_type: what the requests of that kind of server carry (buildRequest). */
  serverType?: ServerType;
}): Promise<string> {
  const config = parseGenerationConfig(opts.overrides);
  const prompt = await loadPromptConfig(opts.promptConfig);
  const image = mergeImageOptions(prompt, opts.overrides);
  const sample = await firstValueFrom(
    readRows(opts.inputFile, { maxSamples: 1 }).pipe(
      renderPrompt(prompt.config, { systemMessage: config.system_message, promptSuffix: config.prompt_suffix }),
      resolveImages({ baseDir: imageBaseDir({ inputFile: opts.inputFile, dataDir: opts.dataDir }), options: image }),
    ),
    { defaultValue: undefined },
  );
  if (!sample) throw new UsageError(`${opts.inputFile} has no rows`);
  if (sample.error) throw new UsageError(`the first row fails: ${sample.error.message}`);
  const body = buildRequest(sample.messages ?? [], {
    model: opts.model,
    inference: withChatTemplateKwargs(config),
    stream: config.server.stream,
    extraBody: prompt.config.extra_body,
    serverType: opts.serverType,
  });
  return JSON.stringify(body, shortenDataUrls, 2);
}

function shortenDataUrls(_key: string, value: unknown): unknown {
  if (typeof value === "string" && value.startsWith("data:") && value.length > 80) {
    return `${value.slice(0, 40)}...(${value.length} chars)`;
  }
  return value;
}
