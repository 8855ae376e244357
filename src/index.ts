/** vlmpipe's public API: the operators of the standard chain, the client, and the run entry points. */
export type { ChatMessage, ContentPart, Sample, SampleError } from "./types.js";
export { ErrorCodes, VlmError, UsageError } from "./errors.js";

export { readRows, type ReadRowsOptions } from "./operators/read-rows.js";
export { skipDone } from "./operators/skip-done.js";
export { renderPrompt } from "./operators/render-prompt.js";
export { resolveImages, type ResolveImagesOptions } from "./operators/resolve-images.js";
export { generate, type GenerateOptions } from "./operators/generate.js";
export { parseReasoning } from "./operators/parse-reasoning.js";
export { extractAnswer } from "./operators/extract-answer.js";
export { EVAL_TYPES, type EvalType, type EvalTypeDef } from "./benchmarks/eval-types.js";
export { runFeedback, type RunFeedbackOptions } from "./operators/run-feedback.js";
export { score } from "./operators/score.js";
export { writeOutput } from "./operators/write-output.js";
export { concurrentMap, type ConcurrentMapOptions } from "./operators/concurrent-map.js";
export { Flow } from "./operators/flow.js";

export { createClient, type ClientOptions } from "./client/create-client.js";
export type { ChatClient, ChatRequest, ChatResult } from "./client/types.js";
export { loadPromptConfig, parsePromptConfig } from "./prompts/load-prompt-config.js";
export { PromptConfigSchema, type PromptConfig } from "./prompts/schema.js";
export { GenerationConfigSchema, parseGenerationConfig, type GenerationConfig } from "./config/generation-config.js";
export { parseOverrides } from "./config/overrides.js";
export { fileSink, streamSink, type LineSink } from "./output/sinks.js";

export { runGenerate, type GenerateRunOptions } from "./run/generate-run.js";
export { runEval, type EvalRunOptions } from "./run/eval-run.js";
export { summarizeResults } from "./cli/summarize-results.js";
export { startSimServer, type SimServer } from "./server/sim/sim-server.js";
export { BENCHMARKS, type Benchmark } from "./benchmarks/index.js";
export { writeReport, type ReportOptions } from "./report/write-report.js";
export { judge, type JudgeOptions } from "./operators/judge.js";
export {
  loadPipeline,
  buildPipeline,
  standardPipeline,
  scoringPipeline,
  type LoadedPipeline,
} from "./pipelines/pipeline.js";
export { STAGES, type StageContext } from "./pipelines/stages.js";
export { resolveImage } from "./images/resolve-image.js";
export { createImageCache } from "./images/image-cache.js";
export { createDiskImageCache, type DiskImageCache, type ImageVerdict } from "./images/disk-cache.js";
export { ImageOptionsSchema, type ImageOptions } from "./images/options.js";
