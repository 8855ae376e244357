import path from "node:path";
import type { EvalType } from "../benchmarks/eval-types.js";
import { UsageError } from "../errors.js";
import type { Metrics } from "../metrics/types.js";
import type { LocalClusterConfig } from "./config.js";
import { runLocalEval } from "./local-executor.js";
import type { ServerSpec } from "./settings.js";

export { dataFile, readDataRows, runOverrides } from "./eval-inputs.js";

export type EvalRunOptions = {
  benchmarks: string;
  model: string;
  dataDir: string;
  outputDir: string;
  /** OpenAI base URL(s) of running servers; requests are spread over several. */
  serverAddress?: string | string[];
  /** Otherwise: the simulator, or a vLLM/SGLang server to start (and stop at the end). */
  server?: ServerSpec;
  apiKey?: string;
  maxConcurrentRequests: number;
  overrides?: Record<string, unknown>;
  /** Overrides each benchmark's own extractor. */
  evalType?: EvalType;
  /** Split each benchmark's rows into this many chunks, one job each (default 1). */
  numChunks?: number;
  /** Run finished jobs again from scratch. */
  rerunDone?: boolean;
  /** Local executor settings (max_parallel_jobs, vllm_command, env_vars). */
  cluster?: LocalClusterConfig;
  maxParallelJobs?: number;
  /** Run jobs in this process (the default here) or as `vlmpipe eval_job` child processes (the CLI's way). */
  inProcess?: boolean;
  log?: (line: string) => void;
  /** Receives the metrics tables (stdout). */
  write?: (text: string) => void;
  progressSeconds?: number;
  stop?: AbortSignal;
  abort?: AbortSignal;
};

export type EvalRunResult = { metrics: Metrics; failedRows: number; interrupted: boolean };

/**
 * `vlmpipe eval` on this machine: for each benchmark and seed (and chunk, with numChunks) a
 * resumable generate run into `<output_dir>/eval-results/<benchmark>/output[-rs<seed>].jsonl`
 * (logs in eval-logs/), chunks merged once all are done, then summarize_results writes
 * metrics.json beside the outputs and prints the tables. Finished runs are skipped.
 */
export async function runEval(opts: EvalRunOptions): Promise<EvalRunResult> {
  const addresses = opts.serverAddress === undefined ? [] : [opts.serverAddress].flat();
  const server: ServerSpec | undefined =
    opts.server ?? (addresses.length > 0 ? { kind: "running", type: "vllm", addresses } : undefined);
  if (!server) throw new UsageError("runEval needs serverAddress or server");
  return runLocalEval(
    {
      benchmarks: opts.benchmarks,
      model: opts.model,
      dataDir: path.resolve(opts.dataDir),
      outputDir: path.resolve(opts.outputDir),
      evalType: opts.evalType,
      maxConcurrentRequests: opts.maxConcurrentRequests,
      overrides: opts.overrides ?? {},
      numChunks: opts.numChunks ?? 1,
      rerunDone: opts.rerunDone ?? false,
      server,
      progressSeconds: opts.progressSeconds ?? 0,
    },
    {
      config: opts.cluster ?? { executor: "local", env_vars: {} },
      maxParallelJobs: opts.maxParallelJobs,
      inProcess: opts.inProcess ?? true,
      apiKey: opts.apiKey,
      log: opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)),
      write: opts.write,
      stop: opts.stop,
      abort: opts.abort,
    },
  );
}
