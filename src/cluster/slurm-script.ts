import path from "node:path";
import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import { SERVER_BIN_ENV, serverCommand, serverExecutable } from "../server/launch-command.js";
import { quoteShell, quoteShellWord, redactSecrets } from "../server/launch-shell.js";
import { VERSION } from "../version.js";
import type { SlurmClusterConfig } from "./config.js";
import { jobSelector } from "./local-executor.js";
import { describeJob, type EvalJob } from "./plan.js";
import { type EvalSettings, settingsArgs } from "./settings.js";

export type ScriptContext = {
  config: SlurmClusterConfig;
  settings: EvalSettings;
  /** Job name of the generation jobs; the merge job adds "-merge". */
  jobName: string;
  /** Where Slurm writes the jobs' stdout/stderr. */
  logDir: string;
  /** How a job runs vlmpipe, as shell text. */
  vlmpipe: string;
};

/**
 * The sbatch script of generation jobs: one array task per job (`jobs[i]` is task i), or, with
 * one job and `array: false`, a plain job. Each task starts the model server on its node when
 * the eval starts servers (eval_job does: free port, health wait, log, stop) and generates its
 * rows; Slurm's log of task i is `<log_dir>/<name>-<array id>_<i>.out`.
 */
export function renderGenerationScript(ctx: ScriptContext, jobs: EvalJob[], o: { array: boolean }): string {
  if (!o.array && jobs.length !== 1)
    throw new VlmError(ErrorCodes.INTERNAL, "internal: a plain generation job runs exactly one job");
  const { config, settings } = ctx;
  const server = settings.server;
  const nodes = server.kind === "launch" ? server.nodes : 1;
  const lines = ["#!/bin/bash", ...sbatchHeader(ctx, ctx.jobName, nodes)];
  if (server.kind === "launch" && config.gpus_per_node !== 0) {
    if (config.gpus_per_node !== undefined && server.gpus > config.gpus_per_node) {
      throw new UsageError(
        `--server_gpus ${server.gpus} is more than the ${config.gpus_per_node} GPUs of a node (gpus_per_node): use --server_nodes to span nodes`,
      );
    }
    lines.push(`#SBATCH --gpus-per-node=${server.gpus}`);
  }
  if (o.array) {
    const limit = config.max_array_parallel ? `%${config.max_array_parallel}` : "";
    lines.push(`#SBATCH --array=0-${jobs.length - 1}${limit}`);
    lines.push(`#SBATCH --output=${sbatchPath(path.join(ctx.logDir, "%x-%A_%a.out"))}`);
  } else {
    lines.push(`#SBATCH --output=${sbatchPath(path.join(ctx.logDir, "%x-%j.out"))}`);
  }
  lines.push(
    `# vlmpipe ${VERSION} eval of ${settings.benchmarks} (model ${settings.model}) -> ${settings.outputDir}`,
    `# ${o.array ? "One array task per job" : "One job"}: a (benchmark, seed) run or one chunk of it.`,
    "set -euo pipefail",
    ...preamble(config, settings),
  );
  if (o.array) {
    lines.push("", 'case "${SLURM_ARRAY_TASK_ID:?not an array task}" in');
    jobs.forEach((j, i) => lines.push(`  ${i}) JOB=(${quoteShell(jobSelector(j))}) ;;  # ${describeJob(j)}`));
    lines.push('  *) echo "vlmpipe: no job for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;', "esac");
  } else {
    const j = jobs[0] as EvalJob;
    lines.push("", `JOB=(${quoteShell(jobSelector(j))})  # ${describeJob(j)}`);
  }
  lines.push("", ...serverLines(ctx, nodes));
  const run = `${ctx.vlmpipe} eval_job ${quoteShell(settingsArgs(settings))} "\${JOB[@]}"`;
  // exec: Slurm's signals (time limit, scancel) go straight to eval_job, which stops the server.
  // With worker nodes in the background, the shell stays to keep them in the job.
  lines.push(nodes > 1 ? run : `exec ${run}`, "");
  return lines.join("\n");
}

/** The merge-and-summarize job: no GPU, after every generation job succeeded. */
export function renderMergeScript(ctx: ScriptContext): string {
  const lines = [
    "#!/bin/bash",
    ...sbatchHeader(ctx, `${ctx.jobName}-merge`, 1),
    `#SBATCH --output=${sbatchPath(path.join(ctx.logDir, "%x-%j.out"))}`,
    `# vlmpipe ${VERSION}: merges the chunks of ${ctx.settings.benchmarks} and writes metrics.json under ${ctx.settings.outputDir}/eval-results`,
    "set -euo pipefail",
    ...preamble(ctx.config, ctx.settings),
    "",
    `exec ${ctx.vlmpipe} eval_merge ${quoteShell(settingsArgs(ctx.settings))}`,
    "",
  ];
  return lines.join("\n");
}

/**
 * A path in an `#SBATCH` line: sbatch splits its arguments at white space outside double
 * quotes (and has no escapes), so a path with a space goes in double quotes.
 */
function sbatchPath(p: string): string {
  if (/["\n\r]/.test(p))
    throw new UsageError(`sbatch cannot be given a path with a double quote or a line break: ${p}`);
  return /\s|'/.test(p) ? `"${p}"` : p;
}

function sbatchHeader(ctx: ScriptContext, name: string, nodes: number): string[] {
  const c = ctx.config;
  const h = [`--job-name=${name}`];
  if (c.partition) h.push(`--partition=${c.partition}`);
  if (c.account) h.push(`--account=${c.account}`);
  if (c.qos) h.push(`--qos=${c.qos}`);
  if (c.time) h.push(`--time=${c.time}`);
  h.push(`--nodes=${nodes}`, "--ntasks-per-node=1");
  if (c.cpus_per_task) h.push(`--cpus-per-task=${c.cpus_per_task}`);
  if (c.mem) h.push(`--mem=${c.mem}`);
  h.push(...c.sbatch_args);
  return h.map((x) => `#SBATCH ${x}`);
}

/** The cluster config's set-up lines and environment, and the server executables it names. */
function preamble(config: SlurmClusterConfig, settings: EvalSettings): string[] {
  const out: string[] = [];
  if (config.setup.length > 0) out.push("", "# set-up (cluster config)", ...config.setup);
  const env: [string, string][] = Object.entries(config.env_vars).map(([k, v]) => [k, String(v)]);
  if (config.vllm_command) env.push([SERVER_BIN_ENV.vllm, config.vllm_command]);
  if (config.sglang_command) env.push([SERVER_BIN_ENV.sglang, config.sglang_command]);
  if (env.length > 0) out.push("", ...env.map(([k, v]) => `export ${k}=${quoteShellWord(v)}`));
  if (settings.server.kind === "running")
    out.push("", `# model servers: ${settings.server.addresses.join(", ")} (already running)`);
  return out;
}

/** What the job does about its model server, as comments and (multi-node) worker start-up. */
function serverLines(ctx: ScriptContext, nodes: number): string[] {
  const { settings, config } = ctx;
  const server = settings.server;
  if (server.kind === "sim") return ["# model server: the built-in simulator, in eval_job's process (not a model)"];
  if (server.kind === "running") return [];
  const exe = serverExecutable(server.type, server.type === "vllm" ? config.vllm_command : config.sglang_command);
  const shown = serverCommand({
    type: server.type,
    model: settings.model,
    port: 0,
    gpus: server.gpus,
    nodes,
    args: server.args,
    executable: exe,
  });
  const out = [
    "# The model server, started on this node by eval_job on a free port, health-checked (GET /health),",
    `# logged to ${settings.outputDir}/eval-logs/<job>-${server.type}-server.log and stopped when the job ends:`,
    `#   ${shellWithRaw(redactSecrets(shown), { "--port": "<free port>" })}`,
  ];
  if (nodes <= 1) return out;
  out.push('nodes=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))', 'head="${nodes[0]}"');
  if (server.type === "vllm") {
    const ray = config.ray_command;
    out.push(
      `# A Ray cluster over the job's ${nodes} nodes: vLLM runs pipeline-parallel across them.`,
      `${ray} start --head --port=6379 --num-gpus=${server.gpus} --block &`,
      "sleep 10",
      `srun --nodes=${nodes - 1} --ntasks=${nodes - 1} --ntasks-per-node=1 --exclude="$head" ${ray} start --address="$head:6379" --num-gpus=${server.gpus} --block &`,
      `for _ in $(seq 1 120); do [ "$(${ray} status 2>/dev/null | grep -c ' node_')" -ge ${nodes} ] && break; sleep 5; done`,
    );
  } else {
    const worker = serverCommand({
      type: "sglang",
      model: settings.model,
      port: 30000,
      gpus: server.gpus,
      nodes,
      nodeRank: 1,
      distInitAddr: "head",
      args: server.args,
      executable: exe,
    });
    const text = shellWithRaw(worker, { "--node-rank": "$r", "--dist-init-addr": '"$head:5757"' });
    out.push(
      `# SGLang over ${nodes} nodes: ranks 1..${nodes - 1} here, rank 0 (the HTTP server) by eval_job.`,
      `for r in $(seq 1 ${nodes - 1}); do`,
      `  srun --nodes=1 --ntasks=1 -w "\${nodes[$r]}" ${text} &`,
      "done",
      'export VLMPIPE_SGLANG_DIST_INIT_ADDR="$head:5757"',
    );
  }
  return out;
}

/** Shell text of `words`, where the value after each flag in `raw` is written as given (unquoted). */
function shellWithRaw(words: readonly string[], raw: Record<string, string>): string {
  return words
    .map((w, i) => {
      const flag = i > 0 ? (words[i - 1] as string) : "";
      return Object.hasOwn(raw, flag) ? (raw[flag] as string) : quoteShellWord(w);
    })
    .join(" ");
}
