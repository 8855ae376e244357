import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipe } from "rxjs";
import type { EvalType } from "../benchmarks/eval-types.js";
import { AdaptiveLimit } from "../client/adaptive-limit.js";
import type { ChatClient } from "../client/types.js";
import type { GenerationConfig } from "../config/generation-config.js";
import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import { createDiskImageCache } from "../images/disk-cache.js";
import { createImageCache } from "../images/image-cache.js";
import type { ServerType } from "../operators/build-request.js";
import { Flow } from "../operators/flow.js";
import { readRows } from "../operators/read-rows.js";
import { failureStop, runFeedback } from "../operators/run-feedback.js";
import { writeOutput } from "../operators/write-output.js";
import { claimOutput } from "../output/claim-output.js";
import { InOrderCopy } from "../output/in-order-copy.js";
import { type OpenedOutput, openOutput } from "../output/open-output.js";
import { exists, finalizeOutput } from "../output/partial-output.js";
import { fileSink, type LineSink, streamSink } from "../output/sinks.js";
import { buildPipeline, type LoadedPipeline, mainPrompt } from "../pipelines/pipeline.js";
import type { StageContext } from "../pipelines/stages.js";
import { countRows } from "../progress/count-rows.js";
import { lineReporter, type ProgressReporter } from "../progress/reporter.js";
import type { Sample } from "../types.js";
import { checkFirstRow } from "./check-first-row.js";
import { drain, logRunEnd } from "./drain-run.js";
import { failureLines } from "./failure-summary.js";
import { openResumePartial } from "./resume-partial.js";
import { RunClients } from "./run-clients.js";
import { imageBaseDir, setUpRun } from "./run-setup.js";
import { RunStats } from "./run-stats.js";
import { normalizeServerAddress } from "./server-address.js";
import { waitForServer } from "./wait-for-server.js";

export { imageBaseDir, mergeImageOptions, withChatTemplateKwargs } from "./run-setup.js";

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
  serverAddress: string | string[] | (() => Promise<string | string[]>);
  /** The server's kind (--server_type), for what NeMo-Skills sends each kind (buildRequest). Unset: none of it. */
  serverType?: ServerType;
  apiKey?: string;
  maxConcurrentRequests: number;
  /** Raw `++` overrides (nested object); validated here. */
  overrides?: Record<string, unknown>;
  evalType?: EvalType;
  /** Folder relative image paths resolve against (default: the input file's folder, or cwd for stdin). */
  dataDir?: string;
  overwrite?: boolean;
  /** The flags a refusal names as the way to discard an output of another run (default "--overwrite"). */
  overrideFlags?: string;
  /** `--server_type sim`: the simulator's settings that decide its answers (part of the run's identity). */
  simulator?: Record<string, unknown>;
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
 * resumable from `<output>-async`. An orchestrator: set-up (run-setup.ts), the output opened
 * or refused (output/open-output.ts), clients (run-clients.ts), the chain, then drain and
 * summary (drain-run.ts). Set-up problems throw before any row is sent.
 */
export async function runGenerate(opts: GenerateRunOptions): Promise<GenerateRunResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // One writer per output: the output is checked and locked before anything else (none for stdout).
  const lost = new AbortController();
  const lock = await claimOutput(opts.outputFile, {
    log,
    onLost: (m) => {
      log(`vlmpipe: ${m}`);
      lost.abort();
    },
  });
  const abort = opts.abort ? AbortSignal.any([opts.abort, lost.signal]) : lost.signal;
  try {
    const result = await runGenerateOwned({ ...opts, abort }, log);
    if (lost.signal.aborted) {
      throw new VlmError(ErrorCodes.OUTPUT, `${opts.outputFile}: another run took over its lock`);
    }
    return result;
  } finally {
    await lock?.release();
  }
}

async function runGenerateOwned(opts: GenerateRunOptions, log: (line: string) => void): Promise<GenerateRunResult> {
  const { config, pipeline, image, concurrency, spec } = await setUpRun(opts);
  const stats = new RunStats();
  const toStdout = opts.outputFile === "-";
  const fromStdin = opts.inputFile === "-";
  if (!fromStdin && !(await exists(opts.inputFile))) throw new UsageError(`--input_file not found: ${opts.inputFile}`);
  const prompt = mainPrompt(pipeline);
  const render = { systemMessage: config.system_message, promptSuffix: config.prompt_suffix };
  await checkFirstRow({ inputFile: opts.inputFile, prompt, render, rowRange: opts.rowRange });

  // Everything that must hold before any request is checked here, in this order.
  const output: OpenedOutput | undefined = toStdout
    ? undefined
    : await openOutput({
        outputFile: opts.outputFile,
        spec,
        inputFile: opts.inputFile,
        rowRange: opts.rowRange,
        maxSamples: config.max_samples,
        overwrite: opts.overwrite,
        overrideFlags: opts.overrideFlags,
        log,
      });
  if (output?.complete) {
    const outputFile = opts.outputFile;
    return { stats, complete: true, alreadyDone: true, interrupted: false, tooManyFailures: false, outputFile };
  }
  const done = output?.done ?? new Set<number>();
  stats.previouslyDone = done.size;

  // A server started on demand (the CLI's simulator) starts only once every check above passed.
  const addresses = [typeof opts.serverAddress === "function" ? await opts.serverAddress() : opts.serverAddress].flat();
  const limit = new AdaptiveLimit(concurrency);
  stats.limit = limit;
  const clients = new RunClients({ apiKey: opts.apiKey, concurrency, config });
  // The same hooks for a stage's own server (a judge's): its retries are counted and logged too.
  const hooks: Parameters<RunClients["create"]>[1] = {
    onRetry: ({ attempt, delayMs, error }) => {
      stats.retries++;
      // vLLM's queue limit answers 503, rate limiters 429: send fewer requests at once.
      if (error.status === 429 || error.status === 503) limit.overloaded();
      if (attempt === 1 || attempt % 3 === 0) log(`vlmpipe: retry ${attempt} in ${delayMs} ms: ${error.message}`);
    },
    onDown: (url, seconds, error) => log(`vlmpipe: ${url} is down (${error.message}); trying it again in ${seconds}s`),
    onUp: (url) => log(`vlmpipe: ${url} is back`),
  };
  const client = opts.client ?? clients.create(addresses, hooks);
  // --max_failures: a dead server should not burn the whole input into error lines.
  const failStop = new AbortController();
  const maxFailures = opts.maxFailures ?? 100;
  const stop = opts.stop ? AbortSignal.any([opts.stop, failStop.signal]) : failStop.signal;
  // Streamed text in flight, saved beside the output (docs/resume-partial.md).
  const partial = await openResumePartial(config, {
    outputFile: toStdout ? undefined : opts.outputFile,
    finished: (i) => done.has(i),
    overwrite: opts.overwrite,
    log,
  });
  let copy: InOrderCopy | undefined;
  // Closed before the output is finished (and again in `finally`, a no-op then): a kill after
  // `.done` must not leave `<out>.inflight` beside a finished output, which no rerun opens again.
  let closePartial: Promise<void> | undefined;
  const closeInflight = () => (closePartial ??= partial?.close() ?? Promise.resolve());
  try {
    if (!opts.client) {
      // Ctrl-C while waiting for the server is an interruption (130), not "cannot reach the server".
      const interrupt = opts.abort ? AbortSignal.any([stop, opts.abort]) : stop;
      try {
        await waitForServers(addresses, opts, config, client, log, interrupt);
        await waitForJudges(pipeline, addresses, opts, config, interrupt);
      } catch (e) {
        if (!interrupt.aborted) throw e;
        const outputFile = opts.outputFile;
        return { stats, complete: false, alreadyDone: false, interrupted: true, tooManyFailures: false, outputFile };
      }
    }

    const flow = new Flow(concurrency + 16);
    const source = readRows(fromStdin ? (opts.stdin ?? process.stdin) : opts.inputFile, {
      flow,
      skip: (i) => done.has(i),
      maxSamples: config.max_samples,
      stop,
      rowRange: opts.rowRange,
      keepSource: true,
      digests: !toStdout,
      from: output?.resumeAt,
    });
    // A fresh run's lines are also put in input order as they come, so its end is a rename.
    const inOrder = output?.fresh ? await InOrderCopy.open(output.paths) : undefined;
    copy = inOrder;
    const sink: LineSink = output
      ? await fileSink(output.paths.async, undefined, undefined, inOrder && ((bytes) => inOrder.take(bytes)))
      : streamSink(opts.stdout ?? process.stdout);
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
      afterGenerate: runFeedback({ limit, maxFailures, stop: failStop, log }),
      stop,
      clientFor: (address) => clients.create(address, hooks),
      prompts: pipeline.prompts,
      partial,
      serverType: opts.serverType,
    };
    const chain = pipe(
      buildPipeline(pipeline, stageContext),
      writeOutput(sink),
      failureStop({ maxFailures, stop: failStop, log }),
      flow.releaseEach<Sample>(),
    );
    const reporter = opts.progress ?? lineReporter(log, opts.progressSeconds ?? 0);
    const shown = reporter.start(opts.label ?? path.basename(opts.outputFile), stats, () =>
      rowsToDo(opts, config.max_samples, done.size),
    );
    const interrupted = await drain(source.pipe(chain), stats, opts.abort).finally(() => {
      shown.stop();
      if (!opts.progress) reporter.close();
    });
    await sink.close();
    await closeInflight();
    const complete = !interrupted && !stop.aborted;
    const gapAt = complete && output ? (await finalizeOutput(output.paths, copy)).gapAt : undefined;
    if (gapAt !== undefined && output) throw heldBackByGap(output.paths, gapAt, config.max_samples);
    const failures = await failureLines(stats, opts.inputFile, opts.rowRange);
    logRunEnd(log, {
      stats,
      images: { memory: imageCache, disk: imageDisk },
      complete,
      files: output?.paths,
      failures,
    });
    const tooManyFailures = failStop.signal.aborted;
    return {
      stats,
      complete,
      alreadyDone: false,
      interrupted: !complete && !tooManyFailures,
      tooManyFailures,
      outputFile: opts.outputFile,
    };
  } finally {
    // (After a finished finalize the copy is in place and this does nothing.)
    await copy?.discard();
    await closeInflight();
    await clients.close();
    await output?.close();
  }
}

/** At least one server must answer before any row is sent; the others are tried again later. */
async function waitForServers(
  addresses: string[],
  opts: GenerateRunOptions,
  config: { server: { wait_timeout: number }; inference: { tokens_to_generate: number | null } },
  client: ChatClient,
  log: (l: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const results = await Promise.allSettled(
    addresses.map((baseUrl) =>
      waitForServer({
        baseUrl,
        model: opts.model,
        apiKey: opts.apiKey,
        waitSeconds: config.server.wait_timeout,
        tokensToGenerate: config.inference.tokens_to_generate,
        signal,
      }),
    ),
  );
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  const usage = failures.find((e) => e instanceof UsageError);
  if (usage) throw usage;
  if (failures.length === addresses.length) throw failures[0];
  results.forEach((r, i) => {
    if (r.status === "fulfilled") return;
    log(`vlmpipe: ${(r.reason as Error).message}; going on with the other servers`);
    // A server that failed the check starts in the pool's longest cooldown (server-pool.ts).
    client.markDown?.(addresses[i] as string, r.reason as Error);
  });
}

/**
 * A judge stage's server and model are checked before any row is sent, as the run's are: a judge
 * server that is down or does not serve the judge model failed every row after its generation.
 * A judge on the run's servers with the run's model was checked with them.
 */
async function waitForJudges(
  pipeline: LoadedPipeline,
  addresses: string[],
  opts: GenerateRunOptions,
  config: GenerationConfig,
  signal: AbortSignal,
): Promise<void> {
  for (const s of pipeline.stages) {
    if (s.name !== "judge") continue;
    const o = s.options as { server_address?: string; model?: string; inference: { tokens_to_generate?: unknown } };
    const model = o.model ?? opts.model;
    if (o.server_address === undefined && model === opts.model) continue;
    const tokens =
      "tokens_to_generate" in o.inference ? o.inference.tokens_to_generate : config.inference.tokens_to_generate;
    const bases = o.server_address === undefined ? addresses : [normalizeServerAddress(o.server_address)];
    const results = await Promise.allSettled(
      bases.map((baseUrl) =>
        waitForServer({
          baseUrl,
          model,
          apiKey: opts.apiKey,
          waitSeconds: config.server.wait_timeout,
          tokensToGenerate: tokens as number | null,
          signal,
        }),
      ),
    );
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
    // (with several of the run's servers, one answering is enough, as for the run's own check)
    const usage = failures.find((e) => e instanceof UsageError);
    const failed = usage ?? (failures.length === bases.length ? failures[0] : undefined);
    if (!failed) continue;
    const what = `the judge stage of ${pipeline.file} (model "${model}")`;
    // (a judge's own server_address is the pipeline's, not --server_address)
    const message = `${what}: ${failed.message.replace(/Check --server_address, or/, "Check its server_address, or")}`;
    throw failed instanceof UsageError
      ? new UsageError(message)
      : new VlmError(failed instanceof VlmError ? failed.code : ErrorCodes.CONNECTION, message);
  }
}

/** Rows this run will send, for progress: the input's rows (capped by max_samples) not done yet. */
async function rowsToDo(
  opts: GenerateRunOptions,
  maxSamples: number,
  alreadyDone: number,
): Promise<number | undefined> {
  if (opts.inputFile === "-") return undefined;
  const n = await countRows(opts.inputFile);
  return Math.max(0, (maxSamples >= 0 ? Math.min(n, maxSamples) : n) - alreadyDone);
}

/**
 * The rows asked for are done, but the partial file also holds rows past them, from an earlier
 * run killed with rows in flight, with a row missing between: finished, the output would put
 * later rows on the missing ones' lines, so it stays partial.
 */
function heldBackByGap(paths: { async: string }, gapAt: number, maxSamples: number): VlmError {
  return new VlmError(
    ErrorCodes.OUTPUT,
    `the rows asked for are done, but ${paths.async} also holds rows past ++max_samples=${maxSamples} ` +
      `from an earlier run, and row ${gapAt + 1} before them has no line yet: the output stays partial, ` +
      "so that no row lands on another's line. Run again without ++max_samples (or with a larger one) to finish it",
  );
}
