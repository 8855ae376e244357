import { rm } from "node:fs/promises";
import { PartialAnswers } from "../client/partial-answers.js";
import type { GenerationConfig } from "../config/generation-config.js";
import { InflightLog, inflightPath } from "../output/inflight-log.js";

export type ResumePartialSetup = {
  /** The output file; undefined for stdout (retries still continue, nothing is saved). */
  outputFile: string | undefined;
  /** Rows already finished in the partial output: their saved text is dropped. */
  finished: (index: number) => boolean;
  overwrite?: boolean;
  log: (line: string) => void;
};

/**
 * The run's in-flight answers (docs/resume-partial.md), or undefined when they are off
 * (`++resume_partial.enabled=false`, or requests that do not stream). Opens `<out>.inflight`.
 */
export async function openResumePartial(
  config: GenerationConfig,
  s: ResumePartialSetup,
): Promise<PartialAnswers | undefined> {
  const file = s.outputFile === undefined ? undefined : inflightPath(s.outputFile);
  if (file && s.overwrite) await rm(file, { force: true });
  if (!config.resume_partial.enabled || !config.server.stream) return undefined;
  const log = file ? await InflightLog.open(file, s.finished) : undefined;
  if (log && log.size > 0)
    s.log(`vlmpipe: ${log.size} answers in flight were saved in ${file}: they continue where they stopped`);
  return new PartialAnswers({
    log,
    minTokens: config.resume_partial.min_tokens,
    markers: { start: config.reasoning_start_string, end: config.end_reasoning_string },
    note: s.log,
  });
}
