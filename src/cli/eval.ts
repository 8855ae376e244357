import path from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { EVAL_TYPE_NAMES, type EvalType } from "../benchmarks/eval-types.js";
import { loadClusterConfig } from "../cluster/config.js";
import { runOverrides } from "../cluster/eval-inputs.js";
import { dataFile } from "../cluster/eval-run.js";
import { runLocalEval } from "../cluster/local-executor.js";
import type { EvalSettings, ServerSpec } from "../cluster/settings.js";
import { runSlurmEval } from "../cluster/slurm-executor.js";
import { ErrorCodes, isVlmError, UsageError } from "../errors.js";
import { checkOutputDir } from "../output/check-output-path.js";
import { createReporter } from "../progress/reporter.js";
import { parseBenchmarks } from "../run/benchmark-spec.js";
import { firstRequest } from "../run/dry-run.js";
import { simulatorIdentity } from "../run/run-setup.js";
import { normalizeServerAddress } from "../run/server-address.js";
import { type CliContext, Exit } from "./context.js";
import { collect } from "./flags.js";
import { installInterrupts } from "./interrupt.js";
import { secondsFlag, wholeAtLeast } from "./numeric-flags.js";
import { addSimFlags, type SimFlags } from "./sim-in-process.js";

/** The flags that describe an eval, shared by `eval` and its hidden per-job commands. */
export type EvalFlags = SimFlags & {
  benchmarks: string;
  model: string;
  data_dir: string;
  split?: string;
  output_dir: string;
  server_address?: string[];
  server_type: "vllm" | "sglang" | "openai" | "sim";
  server_gpus?: number;
  server_nodes: number;
  server_args: string;
  server_start_timeout: number;
  eval_type?: EvalType;
  max_concurrent_requests: number;
  api_key?: string;
  num_chunks: number;
  rerun_done?: boolean;
  overwrite?: boolean;
  quiet?: boolean;
  progress_seconds: number;
  max_failures: number;
};

type EvalCommandFlags = EvalFlags & {
  cluster?: string;
  max_parallel_jobs?: number;
  wait?: boolean;
  dry_run?: boolean;
};

export function registerEval(program: Command, ctx: CliContext): void {
  const cmd = addEvalFlags(
    program
      .command("eval")
      .description("run benchmarks end to end: generate (resumable), extract, score, metrics.json and tables"),
  )
    .option(
      "--cluster <name>",
      "where jobs run: local (default), slurm, or a cluster config (cluster_configs/NAME.yaml, a .yaml path)",
    )
    .option(
      "--max_parallel_jobs <n>",
      "--cluster local: jobs at once (default: one per server)",
      positiveInt("--max_parallel_jobs"),
    )
    .option("--wait", "--cluster slurm: wait for the jobs, then print the metrics (default: submit and return)", false)
    .option(
      "--dry_run",
      "print the first rendered request (images shortened), or with a Slurm cluster the sbatch scripts, and exit",
      false,
    );
  cmd.addHelpText(
    "after",
    "\nSettings: ++inference.temperature=0 ++inference.tokens_to_generate=16384 ++max_samples=N ...\n" +
      "(every key: docs/configuration.md)",
  );
  cmd.action(async (flags: EvalCommandFlags) => {
    ctx.exitCode = await evalCommand(flags, ctx);
  });
}

/** Flags of an eval (not of how it runs): the eval command and eval_job / eval_merge share them. */
export function addEvalFlags(cmd: Command): Command {
  cmd
    .requiredOption("--benchmarks <list>", "comma-separated benchmarks, :N for N seeds (mmmu-pro:4 = seeds 0..3)")
    .requiredOption("--model <name>", "model name, as the server serves it (and the model a started server loads)")
    .requiredOption("--data_dir <dir>", "where prepare_data wrote the benchmarks")
    .option(
      "--split <name>",
      "the data split of every benchmark, <data_dir>/<benchmark>/<split>.jsonl (default: the benchmark's own, e.g. test for mmmu-pro, validation for mmmu)",
      splitName,
    )
    .requiredOption("--output_dir <dir>", "results go to <output_dir>/eval-results/<benchmark>/, logs to eval-logs/")
    .option(
      "--server_address <url>",
      "a running server's OpenAI base URL (host:port works too); repeat it to spread requests over several",
      collect,
    )
    .addOption(
      new Option(
        "--server_type <type>",
        "server kind; sim runs the built-in simulator, answering from the benchmark data",
      )
        .choices(["vllm", "sglang", "openai", "sim"])
        .default("vllm"),
    )
    .option(
      "--server_gpus <n>",
      "start the server (vllm or sglang) on this many GPUs (tensor parallel) instead of using --server_address",
      positiveInt("--server_gpus"),
    )
    .option("--server_nodes <n>", "nodes a started server spans (Slurm)", positiveInt("--server_nodes"), 1)
    .option(
      "--server_args <args>",
      'extra arguments for a started server, e.g. "--max-model-len 128000 --async-scheduling"',
      "",
    )
    .option(
      "--server_start_timeout <s>",
      "seconds to wait for a started server to answer GET /health",
      positiveNumber("--server_start_timeout"),
      1800,
    )
    .addOption(new Option("--eval_type <type>", "answer extractor (default: the benchmark's)").choices(EVAL_TYPE_NAMES))
    .option(
      "--max_concurrent_requests <n>",
      "requests in flight at most (per job)",
      positiveInt("--max_concurrent_requests"),
      512,
    )
    .option("--api_key <key>", "API key sent as a Bearer token (default: $OPENAI_API_KEY); never written anywhere")
    .option(
      "--num_chunks <k>",
      "split each benchmark's rows into K chunks, one job each, merged when all are done",
      positiveInt("--num_chunks"),
      1,
    )
    .option(
      "--rerun_done",
      "as NeMo-Skills': run the eval's steps again keeping every finished generation (nothing is discarded; --overwrite starts over)",
      false,
    )
    .option("--overwrite", "discard every existing output of the eval and start over", false)
    .option("--quiet", "no progress lines on stderr", false)
    .option("--progress_seconds <s>", "seconds between progress lines on stderr", secondsFlag("--progress_seconds"), 30)
    .option(
      "--max_failures <n>",
      "stop a job cleanly after this many rows fail in a row (0: never); a rerun resumes it",
      wholeAtLeast("--max_failures", 0),
      100,
    );
  addSimFlags(cmd);
  return cmd;
}

async function evalCommand(flags: EvalCommandFlags, ctx: CliContext): Promise<number> {
  // On a terminal, a live bar per running job (jobs send their status); elsewhere each job
  // writes a progress line every --progress_seconds.
  const bars =
    (ctx.stderr as { isTTY?: boolean }).isTTY && !flags.quiet
      ? createReporter({ stream: ctx.stderr, quiet: false, intervalSeconds: 0 })
      : undefined;
  const log = bars ? (l: string) => bars.log(l) : (l: string) => ctx.stderr.write(`${l}\n`);
  const runs = parseBenchmarks(flags.benchmarks);
  const cluster = await loadClusterConfig(flags.cluster);
  if (flags.dry_run && cluster.config.executor === "local") {
    const first = runs[0] as (typeof runs)[number];
    ctx.stdout.write(
      `${await firstRequest({
        inputFile: await dataFile(flags.data_dir, first, flags.split),
        promptConfig: first.benchmark.promptConfig,
        model: flags.model,
        // The first job's settings: a seeded run's sampling defaults and its seed.
        overrides: runOverrides(first, first.seeds?.[0] ?? null, ctx.overrides),
        serverType: flags.server_type,
      })}\n`,
    );
    return Exit.OK;
  }
  const settings = evalSettings(flags, ctx.overrides);
  if (!flags.dry_run) await checkOutputDir(settings.outputDir, `--output_dir ${flags.output_dir}`);
  const signals = ctx.handleSignals ? installInterrupts(log) : undefined;
  try {
    if (cluster.config.executor === "slurm") {
      if (flags.max_parallel_jobs !== undefined) {
        throw new UsageError(
          "--max_parallel_jobs is for --cluster local; on Slurm set max_array_parallel in the cluster config",
        );
      }
      const r = await runSlurmEval(settings, {
        config: cluster.config,
        clusterName: cluster.name,
        dryRun: !!flags.dry_run,
        wait: !!flags.wait,
        log,
        write: (t: string) => ctx.stdout.write(t),
        stop: signals?.stop,
        apiKey: flags.api_key,
      });
      if (r.status === "interrupted") return Exit.INTERRUPTED;
      return r.failedRows > 0 ? Exit.ROWS_FAILED : Exit.OK;
    }
    if (flags.wait) throw new UsageError("--wait is for Slurm clusters: a local eval always waits");
    const r = await runLocalEval(settings, {
      config: cluster.config,
      maxParallelJobs: flags.max_parallel_jobs,
      apiKey: flags.api_key ?? process.env.OPENAI_API_KEY,
      log,
      write: (t: string) => ctx.stdout.write(t),
      progress: bars,
      stop: signals?.stop,
      abort: signals?.abort,
    });
    if (r.interrupted) return Exit.INTERRUPTED;
    return r.failedRows > 0 ? Exit.ROWS_FAILED : Exit.OK;
  } catch (e) {
    // Ctrl-C before any row ran (a model server still starting): an interruption as any other.
    if (isVlmError(e) && e.code === ErrorCodes.ABORTED && signals?.stop.aborted) {
      log(`vlmpipe: ${e.message}; run the same command again to resume`);
      return Exit.INTERRUPTED;
    }
    throw e;
  } finally {
    bars?.close();
    signals?.dispose();
  }
}

/** Flags -> the eval's settings, with the server rule: sim, running servers, or one to start. */
export function evalSettings(flags: EvalFlags, overrides: Record<string, unknown>): EvalSettings {
  return {
    benchmarks: flags.benchmarks,
    model: flags.model,
    dataDir: path.resolve(flags.data_dir),
    split: flags.split,
    outputDir: path.resolve(flags.output_dir),
    evalType: flags.eval_type,
    maxConcurrentRequests: flags.max_concurrent_requests,
    overrides,
    numChunks: flags.num_chunks,
    // NeMo-Skills' --rerun_done reruns jobs with skip_filled: finished generations stay. Only
    // --overwrite discards (a plain rerun already resumes, merges and writes the metrics again).
    rerunDone: !!flags.overwrite,
    server: serverSpec(flags),
    progressSeconds: flags.quiet ? 0 : flags.progress_seconds,
    maxFailures: flags.max_failures,
    simulator: flags.server_type === "sim" ? simulatorIdentity(flags) : undefined,
  };
}

function serverSpec(flags: EvalFlags): ServerSpec {
  const addresses = (flags.server_address ?? []).map(normalizeServerAddress);
  if (flags.server_type === "sim") {
    if (addresses.length > 0 || flags.server_gpus !== undefined) {
      throw new UsageError("--server_type sim runs the built-in simulator: drop --server_address / --server_gpus");
    }
    return {
      kind: "sim",
      sim: {
        sim_answers: flags.sim_answers,
        sim_accuracy: flags.sim_accuracy,
        sim_latency_ms: flags.sim_latency_ms,
        sim_seed: flags.sim_seed,
        sim_answer_tokens: flags.sim_answer_tokens,
        sim_token_delay_ms: flags.sim_token_delay_ms,
      },
    };
  }
  if (addresses.length > 0) {
    if (flags.server_gpus !== undefined) {
      throw new UsageError("give --server_address (servers you run) or --server_gpus (vlmpipe starts one), not both");
    }
    return { kind: "running", type: flags.server_type, addresses };
  }
  if (flags.server_gpus !== undefined && (flags.server_type === "vllm" || flags.server_type === "sglang")) {
    return {
      kind: "launch",
      type: flags.server_type,
      gpus: flags.server_gpus,
      nodes: flags.server_nodes,
      args: flags.server_args,
      startTimeoutSeconds: flags.server_start_timeout,
    };
  }
  throw new UsageError(
    "give --server_address of a running server, --server_type vllm|sglang --server_gpus G to start one, " +
      "or --server_type sim for the built-in simulator",
  );
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} takes a positive whole number, got "${v}"`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} takes a positive number, got "${v}"`);
    return n;
  };
}

/** A split is a file name in the benchmark's folder: no path, no extension. */
function splitName(v: string): string {
  if (!/^[\w.-]+$/.test(v) || v.startsWith(".") || v.endsWith(".jsonl"))
    throw new InvalidArgumentError(`--split takes a split's name (e.g. validation, test), not ${JSON.stringify(v)}`);
  return v;
}
