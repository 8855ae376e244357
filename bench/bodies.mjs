// Request bodies exactly as `vlmpipe generate` sends them: the same operators (readRows ->
// renderPrompt -> resolveImages) and buildRequest with the same prompt config and overrides.
// The raw load generators are given these bytes, so both sides send the same requests.
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { lastValueFrom, take, toArray } from "rxjs";
import { dist } from "./lib.mjs";

const lib = (p) => import(pathToFileURL(path.join(dist, p)).href);

/**
 * The first `count` rows of `inputFile` as JSON request bodies (Buffers).
 * @param {{ inputFile: string, promptConfig: string, model: string, overrides?: object, count: number }} o
 */
export async function requestBodies({ inputFile, promptConfig, model, overrides = {}, count }) {
  const { readRows } = await lib("operators/read-rows.js");
  const { renderPrompt } = await lib("operators/render-prompt.js");
  const { resolveImages } = await lib("operators/resolve-images.js");
  const { buildRequest } = await lib("operators/build-request.js");
  const { parseGenerationConfig } = await lib("config/generation-config.js");
  const { loadPromptConfig } = await lib("prompts/load-prompt-config.js");
  const { createImageCache } = await lib("images/image-cache.js");
  const { imageBaseDir, mergeImageOptions, withChatTemplateKwargs } = await lib("run/generate-run.js");

  const config = parseGenerationConfig(overrides);
  const prompt = await loadPromptConfig(promptConfig);
  const image = mergeImageOptions(prompt, overrides);
  const samples = await lastValueFrom(
    readRows(inputFile, { maxSamples: count }).pipe(
      renderPrompt(prompt.config, { systemMessage: config.system_message, promptSuffix: config.prompt_suffix }),
      resolveImages({ baseDir: imageBaseDir({ inputFile }), options: image, cache: createImageCache(image) }),
      take(count),
      toArray(),
    ),
  );
  // resolveImages finishes rows in completion order; bodies go in input order.
  samples.sort((a, b) => a.index - b.index);
  return samples.map((s) => {
    if (s.error) throw new Error(`row ${s.index}: ${s.error.message}`);
    const body = buildRequest(s.messages, {
      model,
      inference: withChatTemplateKwargs(config),
      stream: config.server.stream,
      extraBody: prompt.config.extra_body,
    });
    return Buffer.from(JSON.stringify(body));
  });
}

/** Writes bodies one per line: the file the load generators' drivers read (readBodies). */
export function writeBodies(file, bodies) {
  return writeFile(file, Buffer.concat(bodies.flatMap((b) => [b, Buffer.from("\n")])));
}

/** The bodies of a writeBodies file, as views of its bytes. */
export function readBodies(file) {
  const text = readFileSync(file);
  const bodies = [];
  for (let start = 0, nl; (nl = text.indexOf(10, start)) !== -1; start = nl + 1) bodies.push(text.subarray(start, nl));
  return bodies;
}
