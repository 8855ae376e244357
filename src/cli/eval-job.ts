/**
 * Hidden commands an eval runs its work with (a local child process, or a Slurm job):
 *   vlmpipe eval_job   <eval flags> --job_benchmark B [--job_seed S] [--job_chunk C]
 *   vlmpipe eval_merge <eval flags>
 * eval_job runs one job of the plan (a seed, or one chunk of it), starting the model server
 * on this node first when the eval starts servers; it exits 0 once its output is complete
 * (failed rows included: they are counted in the metrics and retried by a rerun), 130 when
 * stopped, 1 or 2 on failure. eval_merge merges finished chunks and writes metrics.json.
 */
import path from "node:path";
import type { Command } from "commander";
import { type LoadedClusterConfig, loadClusterConfig, parseClusterConfig } from "../cluster/config.js";
import { startServers, watchServers } from "../cluster/local-servers.js";
import { finishEval } from "../cluster/merge.js";
import { findJob, planEval } from "../cluster/plan.js";
import { runJob } from "../cluster/run-job.js";
import { PARENT_PID_ENV, SERVER_SECRET_ARGS_ENV, withSecretServerArgs } from "../cluster/settings.js";
import { deepMerge } from "../config/overrides.js";
import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import { jsonReporter, PROGRESS_JSON_ENV } from "../progress/reporter.js";
import { type CliContext, Exit } from "./context.js";
import { addEvalFlags, type EvalFlags, evalSettings } from "./eval.js";
import { installInterrupts } from "./interrupt.js";

type JobFlags = EvalFlags & {
  job_benchmark: string;
  job_seed?: string;
  job_chunk?: string;
  overrides_json?: string;
  simulator_json?: string;
  cluster?: string;
  cluster_json?: string;
  server_secret_flags?: string;
};

export function registerEvalJobs(program: Command, ctx: CliContext): void {
  const job = addEvalFlags(
    program.command("eval_job", { hidden: true }).description("run one job of an eval (used by eval's executors)"),
  )
    .requiredOption("--job_benchmark <name>", "the job's benchmark")
    .option("--job_seed <n>", "the job's seed (none: the greedy run)")
    .option("--job_chunk <i>", "the job's chunk (none: the whole input)")
    .option("--overrides_json <json>", "the eval's ++ overrides as JSON")
    .option("--simulator_json <json>", "the eval's simulator settings (part of the job's identity) as JSON")
    .option("--cluster <name>", "cluster config whose vllm_command / env_vars apply")
    .option(
      "--server_secret_flags <flags>",
      "names of the secret --server_args flags (e.g. api-key) this job gets through $VLMPIPE_SERVER_SECRET_ARGS",
    )
    .option(
      "--cluster_json <json>",
      "the cluster config the eval was submitted with (its server commands), as JSON; no config is looked for",
    );
  job.action(async (flags: JobFlags) => {
    ctx.exitCode = await evalJob(flags, ctx);
  });
  const merge = addEvalFlags(
    program
      .command("eval_merge", { hidden: true })
      .description("merge an eval's finished chunks and write its metrics (used by eval's executors)"),
  ).option("--overrides_json <json>", "the eval's ++ overrides as JSON");
  merge.action(async (flags: JobFlags) => {
    ctx.exitCode = await evalMerge(flags, ctx);
  });
}

async function evalJob(flags: JobFlags, ctx: CliContext): Promise<number> {
  const log = (l: string) => ctx.stderr.write(`${l}\n`);
  // A Slurm job's secret server flags (--api-key) come through the environment, not argv; they
  // are not passed on to the server's environment.
  const secretArgs = process.env[SERVER_SECRET_ARGS_ENV];
  delete process.env[SERVER_SECRET_ARGS_ENV];
  const settings = withSecretServerArgs(
    evalSettings(flags, overridesOf(flags, ctx)),
    secretArgs,
    flags.server_secret_flags,
  );
  const plan = await planEval({ ...settings, ...simulatorOf(flags) });
  const job = findJob(
    plan,
    flags.job_benchmark,
    optionalInt(flags.job_seed, "--job_seed"),
    optionalInt(flags.job_chunk, "--job_chunk"),
  );
  const cluster = await jobClusterConfig(flags);
  const signals = ctx.handleSignals ? installInterrupts(log) : undefined;
  const unwatch = signals ? watchParent(log) : () => {};
  try {
    const where = process.env.SLURM_JOB_ID
      ? ` (Slurm job ${process.env.SLURM_JOB_ID} on ${process.env.SLURMD_NODENAME ?? "?"})`
      : "";
    const kind = plan.settings.server.kind === "launch" ? plan.settings.server.type : "server";
    const servers = await startServers(plan, {
      config: cluster.config,
      logFile: path.join(plan.logsDir, `${path.basename(job.logFile, ".log")}-${kind}-server.log`),
      log: (l) => log(`${l}${where}`),
      signal: signals?.stop,
    });
    // A server started here that crashes stops the job at once, with its log.
    const watch = watchServers(servers, { stop: signals?.stop, abort: signals?.abort });
    try {
      const r = await runJob(plan, job, {
        serverAddresses: servers.addresses,
        apiKey: flags.api_key ?? process.env.OPENAI_API_KEY,
        log,
        // Started by an eval that draws the bars: send it our status instead of progress lines.
        progress: process.env[PROGRESS_JSON_ENV] && !flags.quiet ? jsonReporter(log, log) : undefined,
        stop: watch.stop,
        abort: watch.abort,
      });
      const down = watch.down();
      if (down)
        throw new VlmError(ErrorCodes.CONNECTION, `${down}\nSubmit the eval again to resume: the rows done are kept.`);
      if (r.complete) return Exit.OK;
      if (r.interrupted) return Exit.INTERRUPTED;
      throw new VlmError(
        ErrorCodes.CONNECTION,
        `${job.key}: stopped after too many failed rows in a row; see ${job.logFile}`,
      );
    } finally {
      await servers.close();
    }
  } finally {
    unwatch();
    signals?.dispose();
  }
}

/**
 * The cluster config of the eval this job belongs to: the one its executor passed on
 * (--cluster_json), else --cluster or the default search (a job started by hand).
 */
async function jobClusterConfig(flags: JobFlags): Promise<LoadedClusterConfig> {
  if (flags.cluster_json === undefined) return loadClusterConfig(flags.cluster);
  let raw: unknown;
  try {
    raw = JSON.parse(flags.cluster_json);
  } catch (e) {
    throw new UsageError(`--cluster_json is not JSON: ${(e as Error).message}`);
  }
  return { name: "(submitted)", file: null, config: parseClusterConfig(raw, "--cluster_json") };
}

/**
 * A job the local executor started stops itself, as on SIGTERM, when that eval process is gone
 * (killed with SIGKILL): it must not go on writing files a rerun of the eval writes too.
 */
function watchParent(log: (l: string) => void): () => void {
  const parent = Number(process.env[PARENT_PID_ENV]);
  delete process.env[PARENT_PID_ENV];
  if (!parent) return () => {};
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    log(`vlmpipe: the eval that started this job (pid ${parent}) is gone: stopping`);
    process.kill(process.pid, "SIGTERM");
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

async function evalMerge(flags: JobFlags, ctx: CliContext): Promise<number> {
  const log = (l: string) => ctx.stderr.write(`${l}\n`);
  const plan = await planEval(evalSettings(flags, overridesOf(flags, ctx)));
  const r = await finishEval(plan, { log, write: (t) => ctx.stdout.write(t) });
  if (r.incomplete.length > 0) {
    throw new VlmError(
      ErrorCodes.OUTPUT,
      `cannot merge: ${r.incomplete.join("; ")} (submit the same eval again to run what is missing)`,
    );
  }
  if (r.failedRows > 0)
    log(`vlmpipe: ${r.failedRows} rows failed (they carry "error"; submitting the same eval again retries them)`);
  return Exit.OK;
}

function overridesOf(flags: JobFlags, ctx: CliContext): Record<string, unknown> {
  if (!flags.overrides_json) return ctx.overrides;
  let parsed: unknown;
  try {
    parsed = JSON.parse(flags.overrides_json);
  } catch (e) {
    throw new UsageError(`--overrides_json is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new UsageError("--overrides_json must be a JSON object");
  return deepMerge(parsed as Record<string, unknown>, ctx.overrides);
}

/** --simulator_json: the simulator of an eval whose jobs reach it as a running server. */
function simulatorOf(flags: JobFlags): { simulator?: Record<string, unknown> } {
  if (!flags.simulator_json) return {};
  const parsed = JSON.parse(flags.simulator_json) as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError("--simulator_json must be a JSON object");
  }
  return { simulator: parsed as Record<string, unknown> };
}

function optionalInt(v: string | undefined, name: string): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} takes a whole number, got "${v}"`);
  return n;
}
