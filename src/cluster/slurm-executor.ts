import { createHash } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import { formatMetrics } from "../metrics/format.js";
import { readMetricsJson } from "../metrics/read-metrics.js";
import type { Metrics } from "../metrics/types.js";
import { quoteShell } from "../server/launch-shell.js";
import { cliEntry } from "./cli-entry.js";
import type { SlurmClusterConfig } from "./config.js";
import { clearMergedForRerun, finishEval } from "./merge.js";
import { countFailedRows } from "./output-state.js";
import { describeJob, type EvalJob, type EvalPlan, pendingJobs, planEval } from "./plan.js";
import { type EvalSettings, SERVER_SECRET_ARGS_ENV, splitSecretServerArgs } from "./settings.js";
import {
  type CommandRunner,
  finalStates,
  queuedByName,
  queueStates,
  runCommand,
  sbatch,
  scancel,
} from "./slurm-commands.js";
import { renderGenerationScript, renderMergeScript, type ScriptContext } from "./slurm-script.js";

export type SlurmEvalOptions = {
  config: SlurmClusterConfig;
  /** The config's name, for messages. */
  clusterName: string;
  /** Print the sbatch scripts; submit nothing. */
  dryRun: boolean;
  /** Poll until the merge job ends, then print the metrics. */
  wait: boolean;
  log: (line: string) => void;
  /** stdout: scripts (dry run), job ids, metrics tables. */
  write: (text: string) => void;
  /** Stops waiting (the jobs keep running). */
  stop?: AbortSignal;
  /** Given to the jobs through their environment ($OPENAI_API_KEY), never in a script. */
  apiKey?: string;
  /** Runs sbatch, squeue, scontrol, sacct, scancel (tests pass their own). */
  run?: CommandRunner;
};

export type SlurmEvalResult = {
  status: "dry-run" | "submitted" | "nothing-to-run" | "completed" | "interrupted";
  jobIds: string[];
  metrics: Metrics;
  failedRows: number;
};

const TERMINAL = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE|REVOKED)/;

/**
 * `--cluster slurm` (or a Slurm cluster config): each pending job (a seed, or a chunk of it) is
 * one task of a job array (or one job each, `job_array: false`) whose script starts the model
 * server on its node and runs `vlmpipe eval_job`; a merge-and-summarize job runs `eval_merge`
 * once all of them ended, however (afterany): it merges the seeds whose chunks are all done,
 * writes the metrics of the benchmarks that are complete and fails naming what is missing (with
 * afterok a failed chunk left every finished seed in chunks, which a rerun with another
 * --num_chunks refused). Finished jobs are not submitted again; when nothing is
 * left to run, the merge and summary happen here at once.
 */
export async function runSlurmEval(settings: EvalSettings, o: SlurmEvalOptions): Promise<SlurmEvalResult> {
  const run = o.run ?? runCommand;
  const plan = await planEval(settings);
  const { pending, skipped, notes } = await pendingJobs(plan);
  for (const n of notes) o.log(`vlmpipe: ${n}`);
  if (skipped.length > 0) {
    o.log(
      `vlmpipe: ${skipped.length} finished job(s) not submitted (--overwrite redoes them): ${skipped.map(describeJob).join(", ")}`,
    );
  }
  if (settings.server.kind === "running") {
    const local = settings.server.addresses.filter((a) => /^https?:\/\/(localhost|127\.|\[::1\])/.test(a));
    if (local.length > 0)
      o.log(
        `vlmpipe: warning: ${local.join(", ")} is this machine's loopback address; jobs on other nodes cannot reach it`,
      );
  }
  const result: SlurmEvalResult = { status: "dry-run", jobIds: [], metrics: {}, failedRows: 0 };
  const jobName = evalJobName(o.config.job_name_prefix, plan);
  if (pending.length === 0) {
    if (o.dryRun) {
      o.write(
        "# Nothing to submit: every job is done (--overwrite redoes them); the eval would merge and summarize at once.\n",
      );
      return result;
    }
    // The earlier submission's merge job may still be queued or running: merging here too would
    // race it over the same files.
    await refuseIfQueued(run, jobName);
    o.log("vlmpipe: every job is done; merging and summarizing here (nothing submitted)");
    const finish = await finishEval(plan, { log: o.log, write: o.write });
    if (finish.incomplete.length > 0)
      throw new VlmError(ErrorCodes.OUTPUT, `cannot finish the eval: ${finish.incomplete.join("; ")}`);
    return { status: "nothing-to-run", jobIds: [], metrics: finish.metrics, failedRows: finish.failedRows };
  }

  const ctx: ScriptContext = {
    config: o.config,
    settings,
    jobName,
    logDir: o.config.log_dir ? path.resolve(o.config.log_dir) : path.join(plan.logsDir, "slurm"),
    vlmpipe: o.config.vlmpipe_command ?? quoteShell([process.execPath, cliEntry()]),
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const generation = o.config.job_array
    ? [
        {
          file: path.join(ctx.logDir, `${stamp}-generate.sbatch`),
          text: renderGenerationScript(ctx, pending, { array: true }),
        },
      ]
    : pending.map((j, i) => ({
        file: path.join(ctx.logDir, `${stamp}-generate-${i}.sbatch`),
        text: renderGenerationScript(ctx, [j], { array: false }),
      }));
  const merge = { file: path.join(ctx.logDir, `${stamp}-merge.sbatch`), text: renderMergeScript(ctx) };

  if (o.dryRun) {
    for (const g of generation) o.write(`# ==== ${g.file}  (sbatch --parsable ${g.file})\n${g.text}\n`);
    o.write(
      `# ==== ${merge.file}  (sbatch --parsable --dependency=afterany:<generation job ids> --kill-on-invalid-dep=yes ${merge.file})\n${merge.text}`,
    );
    o.log(
      `vlmpipe: --dry_run: ${pending.length} job(s) and a merge job would be submitted to Slurm (${o.clusterName}); nothing was submitted`,
    );
    return result;
  }

  await refuseIfQueued(run, ctx.jobName);
  await clearMergedForRerun(plan);
  await mkdir(ctx.logDir, { recursive: true });
  for (const s of [...generation, merge]) await writeFile(s.file, s.text, { mode: 0o755 });
  // Secrets go to the jobs through sbatch's environment (it passes the submitter's on), never
  // through a script: the API key, and the secret flags of --server_args (--api-key).
  const { secretArgs } = splitSecretServerArgs(settings);
  const env =
    o.apiKey || secretArgs
      ? {
          ...process.env,
          ...(o.apiKey ? { OPENAI_API_KEY: o.apiKey } : {}),
          ...(secretArgs ? { [SERVER_SECRET_ARGS_ENV]: secretArgs } : {}),
        }
      : undefined;
  const genIds: string[] = [];
  for (const g of generation) genIds.push(await sbatch(run, [g.file], env));
  const mergeId = await sbatch(
    run,
    [`--dependency=afterany:${genIds.join(":")}`, "--kill-on-invalid-dep=yes", merge.file],
    env,
  );
  const submittedAt = Date.now();
  result.jobIds = [...genIds, mergeId];
  o.write(submissionReport(ctx, plan, pending, genIds, mergeId, o));

  if (!o.wait) return { ...result, status: "submitted" };
  const waited = await waitForJobs(run, genIds, mergeId, {
    pollSeconds: o.config.poll_seconds,
    log: o.log,
    stop: o.stop,
  });
  if (waited === "interrupted") {
    o.log(
      `vlmpipe: stopped waiting; the jobs keep running (squeue -j ${result.jobIds.join(",")}; scancel ${result.jobIds.join(" ")} stops them)`,
    );
    return { ...result, status: "interrupted" };
  }
  const states = await finalStates(run, [...genIds, mergeId]);
  const mergeState =
    states.get(mergeId)?.state ?? ((await metricsWritten(plan, submittedAt)) ? "COMPLETED" : "UNKNOWN");
  if (!mergeState.startsWith("COMPLETED")) {
    throw new VlmError(
      ErrorCodes.OUTPUT,
      failureReport(ctx, pending, genIds, mergeId, mergeState, states, o.config.job_array),
    );
  }
  const metrics: Metrics = {};
  let failedRows = 0;
  for (const b of plan.benchmarks) {
    const m = readMetricsJson(await readFile(path.join(b.dir, "metrics.json"), "utf8"));
    o.write(formatMetrics(m));
    for (const [name, v] of m) metrics[name] = v;
    for (const s of b.seeds) failedRows += await countFailedRows(s.outputFile);
  }
  return { ...result, status: "completed", metrics, failedRows };
}

function submissionReport(
  ctx: ScriptContext,
  plan: EvalPlan,
  jobs: EvalJob[],
  genIds: string[],
  mergeId: string,
  o: SlurmEvalOptions,
): string {
  const list = jobs.map(describeJob).join(", ");
  const gen =
    genIds.length === 1 && o.config.job_array
      ? `job array ${genIds[0]} with ${jobs.length} task(s): ${list}`
      : `jobs ${genIds.join(", ")}: ${list}`;
  const slurmLogs = o.config.job_array
    ? path.join(ctx.logDir, `${ctx.jobName}-${genIds[0]}_<task>.out`)
    : path.join(ctx.logDir, `${ctx.jobName}-<job id>.out`);
  return [
    `Submitted to Slurm (${o.clusterName}):`,
    `  generation: ${gen}`,
    `  merge and summarize: job ${mergeId}, after ${genIds.join(", ")} succeed(s)`,
    `Slurm logs: ${slurmLogs}, ${path.join(ctx.logDir, `${ctx.jobName}-merge-${mergeId}.out`)}`,
    `Job logs: ${plan.logsDir}/<benchmark>-<output>.log (server logs beside them)`,
    `Metrics: ${path.join(plan.settings.outputDir, "eval-results", "<benchmark>", "metrics.json")} once job ${mergeId} is done (squeue -j ${[...genIds, mergeId].join(",")})`,
    "",
  ].join("\n");
}

function failureReport(
  ctx: ScriptContext,
  jobs: EvalJob[],
  genIds: string[],
  mergeId: string,
  mergeState: string,
  states: Map<string, { state: string; exitCode: string }>,
  array: boolean,
): string {
  const lines = [`the merge job ${mergeId} ended ${mergeState}:`];
  jobs.forEach((j, i) => {
    const id = array ? `${genIds[0]}_${i}` : (genIds[i] as string);
    const st = states.get(id);
    if (st?.state.startsWith("COMPLETED")) return;
    const slurmLog = path.join(ctx.logDir, array ? `${ctx.jobName}-${genIds[0]}_${i}.out` : `${ctx.jobName}-${id}.out`);
    lines.push(
      `  job ${id} (${describeJob(j)}): ${st ? `${st.state} exit ${st.exitCode}` : "state unknown"}; logs: ${slurmLog}, ${j.logFile}`,
    );
  });
  lines.push(`  merge log: ${path.join(ctx.logDir, `${ctx.jobName}-merge-${mergeId}.out`)}`);
  lines.push("Fix the cause and submit the same eval again: finished chunks are skipped.");
  return lines.join("\n");
}

/** Polls squeue until the merge job has left the queue (or can never run). */
async function waitForJobs(
  run: CommandRunner,
  genIds: string[],
  mergeId: string,
  o: { pollSeconds: number; log: (l: string) => void; stop?: AbortSignal },
): Promise<"done" | "interrupted"> {
  let last = "";
  for (;;) {
    const q = await queueStates(run, [...genIds, mergeId]);
    if (q === null) {
      if (await sleepUnlessStopped(o.pollSeconds * 1000, o.stop)) return "interrupted";
      continue;
    }
    const counts = new Map<string, number>();
    for (const [id, e] of q) if (id !== mergeId) counts.set(e.state, (counts.get(e.state) ?? 0) + 1);
    const merge = q.get(mergeId);
    const line = `vlmpipe: slurm: generation ${[...counts].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(", ") || "finished"}; merge job ${merge ? merge.state.toLowerCase() : "finished"}`;
    if (line !== last) o.log(line);
    last = line;
    if (merge?.reason.includes("DependencyNeverSatisfied")) {
      await scancel(run, [mergeId]);
      return "done";
    }
    if (!merge) {
      // Not in the queue: finished, or squeue failed for a moment; ask for its final state.
      const st = (await finalStates(run, [mergeId])).get(mergeId)?.state;
      if (st === undefined || TERMINAL.test(st)) return "done";
    }
    if (await sleepUnlessStopped(o.pollSeconds * 1000, o.stop)) return "interrupted";
  }
}

function sleepUnlessStopped(ms: number, stop: AbortSignal | undefined): Promise<boolean> {
  if (stop?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onStop = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      stop?.removeEventListener("abort", onStop);
      resolve(false);
    }, ms);
    stop?.addEventListener("abort", onStop, { once: true });
  });
}

/** Without scontrol's or sacct's memory of the job: did every benchmark get its metrics.json since the submission? */
async function metricsWritten(plan: EvalPlan, since: number): Promise<boolean> {
  for (const b of plan.benchmarks) {
    try {
      if ((await stat(path.join(b.dir, "metrics.json"))).mtimeMs < since) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The Slurm job name of an eval: `<prefix>-<hash of the outputs it writes>` (every benchmark's
 * output[-rs<seed>].jsonl, whatever is already done). A resubmission of the same eval has the
 * same name, so it is refused while the first one's jobs are queued; another eval writing other
 * outputs into the same --output_dir (other benchmarks or seeds) has another.
 */
export function evalJobName(prefix: string, plan: EvalPlan): string {
  const outputs = plan.benchmarks.flatMap((b) => b.seeds.map((s) => s.outputFile)).sort();
  return `${prefix}-${createHash("sha256").update(outputs.join("\n")).digest("hex").slice(0, 8)}`;
}

/** Refuses while jobs of this eval (its generation jobs or its merge job) are queued or running. */
async function refuseIfQueued(run: CommandRunner, jobName: string): Promise<void> {
  const queued = await queuedByName(run, [jobName, `${jobName}-merge`]);
  if (queued.length > 0) {
    throw new UsageError(
      `jobs of this eval (${jobName}) are already queued or running: ${queued.join(", ")}. ` +
        `Wait for them (squeue -n ${jobName}), or cancel them first (scancel ${queued.join(" ")})`,
    );
  }
}
