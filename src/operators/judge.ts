import type { OperatorFunction } from "rxjs";
import { judgementVerdict } from "../benchmarks/shared/judgement.js";
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
  /**
   * A regex whose first group is the verdict, its last match read, e.g. `Verdict: (Correct|Wrong)`
   * (an opt-in). Without it, the verdict is read as NeMo-Skills reads `judgement`: the first
   * "Judgement:" (or "**Judgement**:") followed by yes or no (judgementVerdict).
   */
  verdictPattern?: string;
  /** With verdictPattern: the verdict that means correct (case-insensitive). */
  correctVerdict?: string;
  concurrency: number | (() => number);
  /**
   * The run's graceful stop (Ctrl-C, --max_failures), as generate's: rows not sent to the judge
   * yet when it fires are dropped (no output line; a resumed run does them), no retry starts,
   * and the calls in flight finish.
   */
  stop?: AbortSignal;
};

/**
 * A second model call per row: an LLM judge for open answers. Sets `out[outputKey]` to the
 * judge's text and `out.judge_correct` to true/false from the verdict, or null when the judge's
 * text has no verdict (NeMo-Skills' metrics, which read `judgement` itself, count that as wrong). Records VLM_E_MISSING_FIELD / VLM_E_HTTP / ... like generate.
 *
 *   rows.pipe(..., generate(...), judge({ client, model: "judge", prompt, ... }))
 */
export function judge(opts: JudgeOptions): OperatorFunction<Sample, Sample> {
  const render = createRenderer(opts.prompt);
  const key = opts.outputKey ?? "judgement";
  const verdictOf = opts.verdictPattern ? patternVerdict(opts.verdictPattern, opts.correctVerdict) : judgementVerdict;
  return concurrentMap(
    async (s, signal) => {
      const messages = render({ ...s.row, ...s.out }, s.index);
      const r = await opts.client.chat(buildRequest(messages, { ...opts, extraBody: opts.prompt.extra_body }), {
        signal,
        stop: opts.stop,
      });
      return { ...s, out: { ...s.out, [key]: r.content, judge_correct: verdictOf(r.content) } };
    },
    { stage: "judge", limit: opts.concurrency, stop: opts.stop },
  );
}

/** The last match's first group, compared with `correct` (case-insensitive); null without a match. */
function patternVerdict(pattern: string, correct = "yes"): (text: string) => boolean | null {
  const verdict = new RegExp(pattern, "gi");
  const want = correct.toLowerCase();
  return (text) => {
    const last = [...text.matchAll(verdict)].at(-1)?.[1];
    return last === undefined ? null : last.toLowerCase() === want;
  };
}
