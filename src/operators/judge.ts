import type { OperatorFunction } from "rxjs";
import type { ChatClient } from "../client/types.js";
import { createRenderer } from "../prompts/render.js";
import type { PromptConfig } from "../prompts/schema.js";
import type { Sample } from "../types.js";
import { buildRequest, type RequestSettings } from "./build-request.js";
import { concurrentMap } from "./concurrent-map.js";

export type JudgeOptions = Omit<RequestSettings, "extraBody"> & {
  client: ChatClient;
  /** The judge's prompt; placeholders see the row and what earlier stages added (generation, ...). */
  prompt: PromptConfig;
  /** Where the judge's text goes (NeMo-Skills: `judgement`). */
  outputKey?: string;
  /** A regex whose first group is the verdict, e.g. `Judgement: (Yes|No)`. */
  verdictPattern: string;
  /** The verdict that means correct (case-insensitive). */
  correctVerdict?: string;
  concurrency: number | (() => number);
};

/**
 * A second model call per row: an LLM judge for open answers. Sets `out[outputKey]` to the
 * judge's text and `out.judge_correct` to true/false from the verdict, or null when the judge's
 * text has no verdict. Records VLM_E_MISSING_FIELD / VLM_E_HTTP / ... like generate.
 *
 *   rows.pipe(..., generate(...), judge({ client, model: "judge", prompt, verdictPattern: "Judgement: (Yes|No)", ... }))
 */
export function judge(opts: JudgeOptions): OperatorFunction<Sample, Sample> {
  const render = createRenderer(opts.prompt);
  const verdict = new RegExp(opts.verdictPattern, "gi");
  const key = opts.outputKey ?? "judgement";
  const correct = (opts.correctVerdict ?? "yes").toLowerCase();
  return concurrentMap(
    async (s, signal) => {
      const messages = render({ ...s.row, ...s.out }, s.index);
      const r = await opts.client.chat(buildRequest(messages, { ...opts, extraBody: opts.prompt.extra_body }), {
        signal,
      });
      const matches = [...r.content.matchAll(verdict)];
      const last = matches.at(-1)?.[1];
      return {
        ...s,
        out: { ...s.out, [key]: r.content, judge_correct: last === undefined ? null : last.toLowerCase() === correct },
      };
    },
    { stage: "judge", limit: opts.concurrency },
  );
}
