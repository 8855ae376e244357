/** vlmpipe's public API: the operators of the standard chain, the client, and the run entry points. */

export { EVAL_TYPES, type EvalType, type EvalTypeDef } from "./benchmarks/eval-types.js";
export { BENCHMARKS, type Benchmark } from "./benchmarks/index.js";
export { type ClientOptions, createClient } from "./client/create-client.js";
export type { ChatClient, ChatRequest, ChatResult } from "./client/types.js";
export { type EvalRunOptions, runEval } from "./cluster/eval-run.js";
export { type GenerationConfig, GenerationConfigSchema, parseGenerationConfig } from "./config/generation-config.js";
export { parseOverrides } from "./config/overrides.js";
export { ErrorCodes, UsageError, VlmError } from "./errors.js";
export { createDiskImageCache, type DiskImageCache, type ImageVerdict } from "./images/disk-cache.js";
export { createImageCache } from "./images/image-cache.js";
export { type ImageOptions, ImageOptionsSchema } from "./images/options.js";
export { resolveImage } from "./images/resolve-image.js";
export { type SummarizeOptions, summarizeResults } from "./metrics/summarize-results.js";
export { type ConcurrentMapOptions, concurrentMap } from "./operators/concurrent-map.js";
export { extractAnswer } from "./operators/extract-answer.js";
export { Flow } from "./operators/flow.js";
export { type GenerateOptions, generate } from "./operators/generate.js";
export { type JudgeOptions, judge } from "./operators/judge.js";
export { parseReasoning } from "./operators/parse-reasoning.js";
export { type ReadRowsOptions, readRows } from "./operators/read-rows.js";
export { renderPrompt } from "./operators/render-prompt.js";
export { type ResolveImagesOptions, resolveImages } from "./operators/resolve-images.js";
export { type RunFeedbackOptions, runFeedback } from "./operators/run-feedback.js";
export { score } from "./operators/score.js";
export { skipDone } from "./operators/skip-done.js";
export { writeOutput } from "./operators/write-output.js";
export { fileSink, type LineSink, streamSink } from "./output/sinks.js";
export {
  buildPipeline,
  type LoadedPipeline,
  loadPipeline,
  scoringPipeline,
  standardPipeline,
} from "./pipelines/pipeline.js";
export { STAGES, type StageContext } from "./pipelines/stages.js";
export { loadPromptConfig, parsePromptConfig } from "./prompts/load-prompt-config.js";
export { type PromptConfig, PromptConfigSchema } from "./prompts/schema.js";
export { type ReportOptions, writeReport } from "./report/write-report.js";
export { type GenerateRunOptions, runGenerate } from "./run/generate-run.js";
export { type SimServer, startSimServer } from "./server/sim/sim-server.js";
export type { ChatMessage, ContentPart, Sample, SampleError } from "./types.js";
