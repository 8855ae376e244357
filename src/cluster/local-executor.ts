import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { ErrorCodes, errorMessage, UsageError, VlmError } from "../errors.js";
import type { Metrics } from "../metrics/types.js";
import { PROGRESS_JSON_ENV, type ProgressReporter, RemoteProgress } from "../progress/reporter.js";
import { signalGroup, trackProcessGroup, untrackProcessGroup } from "../server/launch-reaper.js";
import { cliEntry } from "./cli-entry.js";
import type { LocalClusterConfig } from "./config.js";
import { directEnv, serverLogFile, startServers, stringEnv, watchServers } from "./local-servers.js";
import { clearMergedForRerun, finishEval, mergeFinishedSeeds } from "./merge.js";
import { describeJob, type EvalJob, type EvalPlan, pendingJobs, planEval } from "./plan.js";
import { runJob } from "./run-job.js";
import { type EvalSettings, jobClusterArgs, PARENT_PID_ENV, settingsArgs } from "./settings.js";

export type LocalEvalOptions = {
  config: LocalClusterConfig;
  /** Jobs at once (default: the config's max_parallel_jobs, else one per server). */
  maxParallelJobs?: number;
  /** Run the jobs in this process instead of as `vlmpipe eval_job` child processes. */
  inProcess?: boolean;
  apiKey?: string;
  log: (line: string) => void;
  /** Receives the metrics tables. */
  write?: (text: string) => void;
  /** Shows each running job's progress (child jobs send their status; see PROGRESS_PREFIX). */
  progress?: ProgressReporter;
  stop?: AbortSignal;
  abort?: AbortSignal;
};

export type LocalEvalResult = { metrics: Metrics; failedRows: number; interrupted: boolean };

/**
 * `--cluster local`: plans the jobs, skips finished ones, brings up the server (or uses the
 * user's), runs the jobs as local processes, a bounded number at once, each spreading its
 * requests over every server; then merges chunks and summarizes. The server is stopped
 * whatever happens.
 */
export async function runLocalEval(settings: EvalSettings, o: LocalEvalOptions): Promise<LocalEvalResult> {
  const plan = await planEval(settings);
  const { pending, skipped, notes } = await pendingJobs(plan);
  for (const n of notes) o.log(`vlmpipe: ${n}`);
  if (skipped.length > 0) {
    o.log(
      `vlmpipe: ${skipped.length} finished job(s) skipped (--overwrite redoes them): ${skipped.map(describeJob).join(", ")}`,
    );
  }
  if (pending.length > 0) {
    await clearMergedForRerun(plan);
    const kind = settings.server.kind === "launch" ? settings.server.type : "server";
    const servers = await startServers(plan, {
      config: o.config,
      logFile: serverLogFile(plan, `${kind}-server.log`),
      log: o.log,
      signal: o.stop,
    });
    // A started server that crashes mid-run stops the jobs at once and ends the eval with its
    // log, instead of retrying against a dead port.
    const watch = watchServers(servers, o, o.log);
    let outcome: JobsOutcome;
    try {
      const parallel = o.maxParallelJobs ?? o.config.max_parallel_jobs ?? servers.addresses.length;
      outcome = await runJobs(plan, pending, servers.addresses, {
        ...o,
        parallel,
        local: servers.local === true,
        stop: watch.stop,
        abort: watch.abort,
      });
    } finally {
      await servers.close();
    }
    // Before the outcome is told: a stopped or failed eval keeps its finished seeds merged (a
    // merge that fails here is tried again, and reported, by finishEval or the next run).
    try {
      await mergeFinishedSeeds(plan, o.log);
    } catch (e) {
      o.log(`vlmpipe: warning: finished chunks not merged yet: ${errorMessage(e)}`);
    }
    const down = watch.down();
    if (down) {
      throw new VlmError(
        ErrorCodes.CONNECTION,
        `${down}\nRun the same command again to resume: the rows done are kept.`,
      );
    }
    if (outcome.interrupted) return { metrics: {}, failedRows: 0, interrupted: true };
    if (outcome.failures.length > 0) {
      const lines = outcome.failures
        .map((f) => `  ${describeJob(f.job)}: ${f.reason} (log: ${f.job.logFile})`)
        .join("\n");
      const msg = `${outcome.failures.length} job(s) failed:\n${lines}\nFix the cause and run the same command again: finished jobs are skipped.`;
      throw outcome.failures.every((f) => f.usage) ? new UsageError(msg) : new VlmError(ErrorCodes.INTERNAL, msg);
    }
  }
  const finish = await finishEval(plan, { log: o.log, write: o.write });
  if (finish.incomplete.length > 0) {
    throw new VlmError(
      ErrorCodes.OUTPUT,
      `the eval is not complete: ${finish.incomplete.join("; ")}; run the same command again`,
    );
  }
  return { metrics: finish.metrics, failedRows: finish.failedRows, interrupted: false };
}

type JobFailure = { job: EvalJob; reason: string; usage: boolean };
type JobsOutcome = { interrupted: boolean; failures: JobFailure[] };
type RunOne = (job: EvalJob, log: (l: string) => void) => Promise<"ok" | "interrupted" | JobFailure>;

/**
 * Runs `jobs` in order, at most `parallel` at once. After a failure no new job starts (the
 * running ones finish); after a stop request neither, and the running ones are told to stop.
 */
async function runJobs(
  plan: EvalPlan,
  jobs: EvalJob[],
  addresses: string[],
  o: LocalEvalOptions & { parallel: number; local: boolean },
): Promise<JobsOutcome> {
  const parallel = Math.max(1, Math.min(o.parallel, jobs.length));
  const runOne: RunOne = o.inProcess ? inProcess(plan, addresses, o) : childProcess(plan.settings, addresses, o);
  const failures: JobFailure[] = [];
  let interrupted = false;
  const running = new Set<Promise<void>>();
  const queue = [...jobs];
  if (parallel > 1) o.log(`vlmpipe: ${jobs.length} jobs, ${parallel} at a time`);
  while (queue.length > 0 && failures.length === 0 && !o.stop?.aborted && !interrupted) {
    if (running.size >= parallel) {
      await Promise.race(running);
      continue;
    }
    const job = queue.shift() as EvalJob;
    const prefix = parallel > 1 ? `[${describeJob(job)}] ` : "";
    const p: Promise<void> = runOne(job, (l) => o.log(prefix + l)).then((r) => {
      if (r === "interrupted") interrupted = true;
      else if (r !== "ok") failures.push(r);
      running.delete(p);
    });
    running.add(p);
  }
  await Promise.all(running);
  return { interrupted: interrupted || (queue.length > 0 && failures.length === 0), failures };
}

function inProcess(plan: EvalPlan, addresses: string[], o: LocalEvalOptions): RunOne {
  return async (job, log) => {
    try {
      const r = await runJob(plan, job, {
        serverAddresses: addresses,
        apiKey: o.apiKey,
        log,
        progress: o.progress,
        stop: o.stop,
        abort: o.abort,
      });
      if (r.complete) return "ok";
      if (r.interrupted) return "interrupted";
      return { job, reason: "stopped after too many failed rows in a row", usage: false };
    } catch (e) {
      log(`vlmpipe: ${errorMessage(e)}`);
      return { job, reason: errorMessage(e).split("\n")[0] as string, usage: e instanceof UsageError };
    }
  };
}

/**
 * A job as `vlmpipe eval_job` in its own process group, its output relayed line by line. A
 * stop request is passed on as SIGINT (the job finishes its rows in flight), an abort as a
 * second SIGINT; a job left running when this process exits is killed.
 */
function childProcess(settings: EvalSettings, addresses: string[], o: LocalEvalOptions & { local: boolean }): RunOne {
  const cli = cliEntry();
  const type =
    settings.server.kind === "launch"
      ? settings.server.type
      : settings.server.kind === "running"
        ? settings.server.type
        : "vllm";
  // The config goes along as it is, so a job does not look for one of its own.
  const common = [
    ...settingsArgs({ ...settings, server: { kind: "running", type, addresses } }),
    ...jobClusterArgs(o.config),
  ];
  // A server started here is reached directly by the jobs too, whatever the proxy variables say.
  const env = directEnv({ ...process.env, ...stringEnv(o.config.env_vars) }, o.local ? addresses : []);
  if (o.apiKey) env.OPENAI_API_KEY = o.apiKey;
  if (o.progress) env[PROGRESS_JSON_ENV] = "1";
  // eval_job stops itself if this process vanishes (see watchParent in cli/eval-job.ts).
  env[PARENT_PID_ENV] = String(process.pid);
  return (job, log) =>
    new Promise((resolve) => {
      const args = [cli, "eval_job", ...common, ...jobSelector(job)];
      const child: ChildProcess = spawn(process.execPath, args, {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env,
      });
      const pid = child.pid;
      if (pid !== undefined) trackProcessGroup(pid);
      const relay = (s: NodeJS.ReadableStream | null) =>
        s && createInterface({ input: s, crlfDelay: Infinity }).on("line", onLine);
      // The job's status lines become its progress bar here; every other line is logged.
      const status = new RemoteProgress();
      let shown: { stop(): void } | undefined;
      let total: (n: number | undefined) => void = () => {};
      const onLine = (line: string) => {
        if (!status.update(line)) return log(line);
        if (!shown && o.progress)
          shown = o.progress.start(describeJob(job), status, () => new Promise((r) => (total = r)));
        if (status.total !== undefined) total(status.total);
      };
      relay(child.stdout);
      relay(child.stderr);
      const forward = () => {
        if (pid !== undefined) signalGroup(pid, "SIGINT");
      };
      o.stop?.addEventListener("abort", forward, { once: true });
      o.abort?.addEventListener("abort", forward, { once: true });
      if (o.stop?.aborted) forward();
      let spawnError: Error | undefined;
      child.once("error", (e) => {
        spawnError = e;
      });
      child.once("close", (code, signal) => {
        shown?.stop();
        o.stop?.removeEventListener("abort", forward);
        o.abort?.removeEventListener("abort", forward);
        if (pid !== undefined) untrackProcessGroup(pid);
        if (code === 0) resolve("ok");
        else if (code === 130 || (o.stop?.aborted && signal !== null)) resolve("interrupted");
        else {
          const reason = spawnError
            ? `could not start: ${spawnError.message}`
            : signal
              ? `killed by ${signal}`
              : `exit code ${code}`;
          resolve({ job, reason, usage: code === 2 });
        }
      });
    });
}

/** eval_job's flags naming one job. */
export function jobSelector(job: EvalJob): string[] {
  return [
    "--job_benchmark",
    job.benchmark,
    ...(job.seed === null ? [] : ["--job_seed", String(job.seed)]),
    ...(job.chunk ? ["--job_chunk", String(job.chunk.index)] : []),
  ];
}
