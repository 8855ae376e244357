import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { type Observable, pipe, tap } from "rxjs";
import { AdaptiveLimit } from "../client/adaptive-limit.js";
import { createClient } from "../client/create-client.js";
import type { ChatClient } from "../client/types.js";
import { type GenerationConfig, parseGenerationConfig } from "../config/generation-config.js";
import { deepMerge } from "../config/overrides.js";
import { UsageError } from "../errors.js";
import { createDiskImageCache, type DiskImageCache } from "../images/disk-cache.js";
import { createImageCache, type ImageCache } from "../images/image-cache.js";
import { type ImageOptions, ImageOptionsSchema, withoutCacheSettings } from "../images/options.js";
import { Flow } from "../operators/flow.js";
import { readRows } from "../operators/read-rows.js";
import { writeOutput } from "../operators/write-output.js";
import {
  exists,
  finalizeOutput,
  outputPaths,
  readPartial,
  removeStaleTemporaries,
  reopenFinished,
} from "../output/partial-output.js";
import { checkSameRun, readSpec, type RunSpec, writeSpec } from "../output/run-spec.js";
import { fileSink, type LineSink, streamSink } from "../output/sinks.js";
import type { LoadedPrompt } from "../prompts/load-prompt-config.js";
import type { Sample } from "../types.js";
import { VERSION } from "../version.js";
import type { EvalType } from "../benchmarks/eval-types.js";
import { countRows } from "../progress/count-rows.js";
import { lineReporter, type ProgressReporter } from "../progress/reporter.js";
import { buildPipeline, type LoadedPipeline, mainPrompt, standardPipeline } from "../pipelines/pipeline.js";
import { inferenceOf, type StageContext } from "../pipelines/stages.js";
import { RunStats } from "./run-stats.js";
import { normalizeServerAddress } from "./server-address.js";
import { waitForServer } from "./wait-for-server.js";

export type GenerateRunOptions = {
  /** A JSONL path, or "-" for stdin. */
  inputFile: string;
  /** A path, or "-" for stdout (completion order, no resume). */
  outputFile: string;
  /** The prompt config of the standard chain; or give `pipeline`. */
  promptConfig?: string;
  /** A custom chain (pipelines/*.yaml) instead of the standard one. */
  pipeline?: LoadedPipeline;
  model: string;
  /** OpenAI base URL, e.g. http://127.0.0.1:8000/v1; several spread the requests over servers. */
  serverAddress: string | string[];
  apiKey?: string;
  maxConcurrentRequests: number;
  /** Raw `++` overrides (nested object); validated here. */
  overrides?: Record<string, unknown>;
  evalType?: EvalType;
  /** Folder relative image paths resolve against (default: the input file's folder, or cwd for stdin). */
  dataDir?: string;
  overwrite?: boolean;
  log?: (line: string) => void;
  /** Seconds between progress lines on the log (0: none), when no `progress` reporter is given. */
  progressSeconds?: number;
  /** Live progress (bars on a terminal); the label names this run in it. */
  progress?: ProgressReporter;
  label?: string;
  stdin?: Readable;
  stdout?: Writable;
  /** Graceful stop: no new rows, in-flight rows finish, the partial file stays valid. */
  stop?: AbortSignal;
  /** Hard stop: in-flight requests are aborted. */
  abort?: AbortSignal;
  /** Use this client instead of building one (library use, tests). */
  client?: ChatClient;
  /** Stop the run cleanly after this many failed rows in a row (0: never). Default 100. */
  maxFailures?: number;
  /**
   * Only the input rows [start, end) (an eval chunk): the output holds just those rows, indexed
   * from 0 within the range, and the range is part of the run's spec so that a resume with
   * another chunking is refused.
   */
  rowRange?: { start: number; end: number };
};

export type GenerateRunResult = {
  stats: RunStats;
  /** Every input row has a line (some may be failed rows). */
  complete: boolean;
  alreadyDone: boolean;
  interrupted: boolean;
  /** Stopped because --max_failures rows failed in a row. */
  tooManyFailures: boolean;
  outputFile: string;
};

/**
 * One generation run: input rows -> prompt -> images -> server -> (extract, score) -> output,
 * resumable from `<output>-async`. Set-up problems throw before any row is sent.
 */
export async function runGenerate(opts: GenerateRunOptions): Promise<GenerateRunResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const overrides = opts.overrides ?? {};
  const config = parseGenerationConfig(overrides);
  withChatTemplateKwargs(config); // refuses chat_template_kwargs given twice
  if (!opts.pipeline && !opts.promptConfig) throw new UsageError("give a prompt config (--prompt_config) or a pipeline");
  const pipeline = opts.pipeline ?? (await standardPipeline(opts.promptConfig as string, opts.evalType));
  const prompt = mainPrompt(pipeline);
  const image = mergeImageOptions(prompt, overrides);
  const concurrency = config.max_concurrent_requests ?? opts.maxConcurrentRequests;
  const stats = new RunStats();
  const toStdout = opts.outputFile === "-";
  const fromStdin = opts.inputFile === "-";
  if (!fromStdin && !(await exists(opts.inputFile))) throw new UsageError(`--input_file not found: ${opts.inputFile}`);

  const spec: RunSpec = {
    vlmpipe_version: VERSION,
    model: opts.model,
    prompt_config: opts.pipeline ? opts.pipeline.file : (prompt?.file ?? ""),
    prompt_hash: opts.pipeline ? opts.pipeline.hash : (prompt?.hash ?? ""),
    inference: comparableInference(config),
    generation: {
      eval_type: opts.evalType ?? null,
      parse_reasoning: config.parse_reasoning,
      end_reasoning_string: config.end_reasoning_string,
      system_message: config.system_message ?? null,
      prompt_suffix: config.prompt_suffix,
      image: withoutCacheSettings(image),
      ...(opts.rowRange ? { row_range: [opts.rowRange.start, opts.rowRange.end] } : {}),
    },
    input_file: fromStdin ? "-" : path.resolve(opts.inputFile),
    created: new Date().toISOString(),
  };

  // Resume state (file output only).
  const paths = outputPaths(opts.outputFile);
  let done = new Set<number>();
  if (!toStdout) {
    await mkdir(path.dirname(path.resolve(opts.outputFile)), { recursive: true });
    if (opts.overwrite) await Promise.all([paths.async, paths.output, paths.done, paths.spec].map((f) => rm(f, { force: true })));
    await removeStaleTemporaries(paths);
    const prev = await readSpec(paths.spec);
    if (prev) checkSameRun(prev, spec, opts.outputFile);
    if (!(await exists(paths.async)) && (await exists(paths.done)) && (await exists(paths.output))) {
      if (!(await reopenFinished(paths))) {
        log(`vlmpipe: ${opts.outputFile} is already complete (delete it or pass --overwrite to redo it)`);
        return { stats, complete: true, alreadyDone: true, interrupted: false, tooManyFailures: false, outputFile: opts.outputFile };
      }
      log(`vlmpipe: ${opts.outputFile} has failed rows: trying them again`);
    }
    const partial = await readPartial(paths.async);
    done = partial.done;
    stats.previouslyDone = done.size;
    if (partial.lines > 0) {
      log(
        `vlmpipe: resuming ${paths.async}: ${partial.done.size} rows done, ${partial.failed.size} to retry` +
          (partial.tornBytes ? `, dropped a torn last line (${partial.tornBytes} bytes)` : ""),
      );
    }
    if (!prev) await writeSpec(paths.spec, spec);
  }

  const addresses = [opts.serverAddress].flat();
  const limit = new AdaptiveLimit(concurrency);
  stats.limit = limit;
  const client =
    opts.client ??
    createClient({
      baseUrl: addresses,
      apiKey: opts.apiKey,
      concurrency,
      server: config.server,
      timeoutSeconds: config.inference.timeout,
      onRetry: ({ attempt, delayMs, error }) => {
        stats.retries++;
        // vLLM's queue limit answers 503, rate limiters 429: send fewer requests at once.
        if (error.status === 429 || error.status === 503) limit.overloaded();
        if (attempt === 1 || attempt % 3 === 0) log(`vlmpipe: retry ${attempt} in ${delayMs} ms: ${error.message}`);
      },
      onDown: (url, seconds, error) => log(`vlmpipe: ${url} is down (${error.message}); trying it again in ${seconds}s`),
      onUp: (url) => log(`vlmpipe: ${url} is back`),
    });
  // --max_failures: a dead server should not burn the whole input into error lines.
  const failStop = new AbortController();
  const maxFailures = opts.maxFailures ?? 100;
  const stop = opts.stop ? AbortSignal.any([opts.stop, failStop.signal]) : failStop.signal;
  let closeExtra: () => Promise<unknown> = async () => undefined;
  try {
    if (!opts.client) await waitForServers(addresses, opts, config.server.wait_timeout, log);

    const flow = new Flow(concurrency + 16);
    const source = readRows(fromStdin ? (opts.stdin ?? process.stdin) : opts.inputFile, {
      flow,
      skip: (i) => done.has(i),
      maxSamples: config.max_samples,
      stop,
      rowRange: opts.rowRange,
      keepSource: true,
    });
    const sink: LineSink = toStdout ? streamSink(opts.stdout ?? process.stdout) : await fileSink(paths.async);
    const clients: ChatClient[] = [];
    const imageCache = createImageCache(image);
    const imageDisk = image.cache_dir === null ? undefined : createDiskImageCache(image.cache_dir);
    const stageContext: StageContext = {
      model: opts.model,
      config,
      client,
      concurrency: () => limit.limit,
      inFlight: stats.inFlight,
      baseDir: imageBaseDir(opts),
      image,
      imageCache,
      imageDisk,
      afterGenerate: tap((s: Sample) => {
        if (!s.error) limit.succeeded();
        if (maxFailures > 0 && stats.consecutiveFailures + (s.error ? 1 : 0) >= maxFailures && !failStop.signal.aborted) {
          log(`vlmpipe: ${maxFailures} rows failed in a row (last: ${s.error?.message}); stopping. Fix the cause and rerun to resume.`);
          failStop.abort();
        }
      }),
      clientFor: (address) => {
        const c = createClient({
          baseUrl: normalizeServerAddress(address),
          apiKey: opts.apiKey,
          concurrency,
          server: config.server,
          timeoutSeconds: config.inference.timeout,
        });
        clients.push(c);
        return c;
      },
      prompts: pipeline.prompts,
    };
    closeExtra = () => Promise.all(clients.map((c) => c.close()));
    const chain = pipe(buildPipeline(pipeline, stageContext), writeOutput(sink), flow.releaseEach<Sample>());
    const reporter = opts.progress ?? lineReporter(log, opts.progressSeconds ?? 0);
    const shown = reporter.start(opts.label ?? path.basename(opts.outputFile), stats, () => rowsToDo(opts, config.max_samples, done.size));
    const interrupted = await drain(source.pipe(chain), stats, opts.abort).finally(() => {
      shown.stop();
      if (!opts.progress) reporter.close();
    });
    await sink.close();
    const images = imageSummary(imageCache, imageDisk);
    if (images) log(`vlmpipe: ${images}`);
    const complete = !interrupted && !stop.aborted;
    if (complete && !toStdout) await finalizeOutput(paths);
    if (complete && stats.done + stats.failed + stats.previouslyDone === 0) log("vlmpipe: warning: the input has no rows");
    log(`vlmpipe: ${stats.summary()}${complete && !toStdout ? ` -> ${opts.outputFile}` : ""}`);
    if (!complete && !toStdout) log(`vlmpipe: stopped early; run the same command again to resume from ${paths.async}`);
    const tooManyFailures = failStop.signal.aborted;
    return { stats, complete, alreadyDone: false, interrupted: !complete && !tooManyFailures, tooManyFailures, outputFile: opts.outputFile };
  } finally {
    await closeExtra();
    if (!opts.client) await client.close();
  }
}

/** Where this run's images came from: "images: 120 resolved: 90 from memory, 30 from the disk
 *  cache, 0 checked with sharp". Undefined for a run without images. */
function imageSummary(memory: ImageCache, disk: DiskImageCache | undefined): string | undefined {
  const m = memory.stats();
  const total = m.hits + m.misses;
  if (total === 0) return undefined;
  if (!disk) return `images: ${total} resolved: ${m.hits} from memory, ${m.misses} checked with sharp`;
  const d = disk.stats();
  const failedWrites = d.writeErrors ? `; ${d.writeErrors} could not be stored (${d.firstWriteError})` : "";
  return (
    `images: ${total} resolved: ${m.hits} from memory, ${d.hits} from the disk cache, ` +
    `${d.misses} checked with sharp (cache ${disk.dir}${failedWrites})`
  );
}

/** At least one server must answer before any row is sent; the others are tried again later. */
async function waitForServers(
  addresses: string[],
  opts: GenerateRunOptions,
  waitSeconds: number,
  log: (l: string) => void,
): Promise<void> {
  const results = await Promise.allSettled(
    addresses.map((baseUrl) => waitForServer({ baseUrl, model: opts.model, apiKey: opts.apiKey, waitSeconds, signal: opts.abort })),
  );
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  const usage = failures.find((e) => e instanceof UsageError);
  if (usage) throw usage;
  if (failures.length === addresses.length) throw failures[0];
  for (const e of failures) log(`vlmpipe: ${e.message}; going on with the other servers`);
}

/** Subscribes and waits for the end; a hard abort unsubscribes (aborting requests in flight). */
function drain(obs: Observable<Sample>, stats: RunStats, abort: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const finish = (interrupted: boolean) => {
      abort?.removeEventListener("abort", onAbort);
      resolve(interrupted);
    };
    const sub = obs.subscribe({
      next: (s) => stats.record(s),
      error: (e) => reject(e),
      complete: () => finish(false),
    });
    const onAbort = () => {
      sub.unsubscribe();
      finish(true);
    };
    if (abort?.aborted) onAbort();
    else abort?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Rows this run will send, for progress: the input's rows (capped by max_samples) not done yet. */
async function rowsToDo(opts: GenerateRunOptions, maxSamples: number, alreadyDone: number): Promise<number | undefined> {
  if (opts.inputFile === "-") return undefined;
  const n = await countRows(opts.inputFile);
  return Math.max(0, (maxSamples >= 0 ? Math.min(n, maxSamples) : n) - alreadyDone);
}

export function imageBaseDir(opts: Pick<GenerateRunOptions, "inputFile" | "dataDir">): string {
  if (opts.dataDir) return path.resolve(opts.dataDir);
  return opts.inputFile === "-" ? process.cwd() : path.dirname(path.resolve(opts.inputFile));
}

export function mergeImageOptions(prompt: LoadedPrompt | undefined, overrides: Record<string, unknown>): ImageOptions {
  const fromPrompt = (prompt?.config.image ?? {}) as Record<string, unknown>;
  const fromFlags = (overrides.image ?? {}) as Record<string, unknown>;
  return ImageOptionsSchema.parse(deepMerge(fromPrompt, fromFlags));
}

/** inferenceOf (the pipeline stages' merge), refusing chat_template_kwargs given twice. */
export function withChatTemplateKwargs(config: GenerationConfig): GenerationConfig["inference"] {
  if (!config.chat_template_kwargs) return config.inference;
  if (config.inference.extra_body.chat_template_kwargs) {
    throw new UsageError("chat_template_kwargs is given both as ++chat_template_kwargs and in ++inference.extra_body: use one");
  }
  return inferenceOf(config);
}

/** Settings that change what the model produces (timeouts do not). */
function comparableInference(config: GenerationConfig): Record<string, unknown> {
  const { timeout: _t, ...rest } = withChatTemplateKwargs(config);
  return rest;
}

