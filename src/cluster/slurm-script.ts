import path from "node:path";
import { ErrorCodes, UsageError, VlmError } from "../errors.js";
import { SERVER_BIN_ENV, serverCommand, serverExecutable } from "../server/launch-command.js";
import { quoteShell, quoteShellWord, redactSecrets } from "../server/launch-shell.js";
import { VERSION } from "../version.js";
import type { SlurmClusterConfig } from "./config.js";
import { jobSelector } from "./local-executor.js";
import { describeJob, type EvalJob } from "./plan.js";
import { type EvalSettings, jobClusterArgs, settingsArgs, splitSecretServerArgs } from "./settings.js";

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
    lines.push(`#SBATCH --output=${sbatchPath(ctx.logDir, "%x-%A_%a.out")}`);
  } else {
    lines.push(`#SBATCH --output=${sbatchPath(ctx.logDir, "%x-%j.out")}`);
  }
  lines.push(
    comment(
      `vlmpipe ${VERSION} eval of ${shown(settings.benchmarks)} (model ${shown(settings.model)}) -> ${shown(settings.outputDir)}`,
    ),
    comment(`${o.array ? "One array task per job" : "One job"}: a (benchmark, seed) run or one chunk of it.`),
    "set -euo pipefail",
    ...preamble(config, settings),
  );
  if (o.array) {
    lines.push("", 'case "${SLURM_ARRAY_TASK_ID:?not an array task}" in');
    jobs.forEach((j, i) =>
      lines.push(`  ${i}) JOB=(${quoteShell(jobSelector(j))}) ;;  ${comment(shown(describeJob(j)))}`),
    );
    lines.push('  *) echo "vlmpipe: no job for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;', "esac");
  } else {
    const j = jobs[0] as EvalJob;
    lines.push("", `JOB=(${quoteShell(jobSelector(j))})  ${comment(shown(describeJob(j)))}`);
  }
  lines.push("", ...serverLines(ctx, nodes));
  // Secret server flags (--api-key) reach the job through its environment (sbatch passes the
  // submitter's on): see SERVER_SECRET_ARGS_ENV. The cluster config goes along as it was
  // submitted, so the job does not look for one of its own.
  const open = splitSecretServerArgs(settings);
  const args = [...settingsArgs(open.settings), ...open.jobArgs, ...jobClusterArgs(config)];
  const run = `${ctx.vlmpipe} eval_job ${quoteShell(args)} "\${JOB[@]}"`;
  // exec: Slurm's signals (time limit, scancel) go straight to eval_job, which stops the server.
  // With worker nodes in the background, the shell stays to keep them in the job.
  lines.push(nodes > 1 ? run : `exec ${run}`, "");
  return lines.join("\n");
}

/**
 * The merge-and-summarize job: no GPU, after every generation job succeeded. It starts no
 * server, so its command line carries no server args (they may hold secrets).
 */
export function renderMergeScript(ctx: ScriptContext): string {
  const s = ctx.settings;
  const settings: EvalSettings = s.server.kind === "launch" ? { ...s, server: { ...s.server, args: "" } } : s;
  const lines = [
    "#!/bin/bash",
    ...sbatchHeader(ctx, `${ctx.jobName}-merge`, 1),
    `#SBATCH --output=${sbatchPath(ctx.logDir, "%x-%j.out")}`,
    comment(
      `vlmpipe ${VERSION}: merges the chunks of ${shown(s.benchmarks)} and writes metrics.json under ${shown(path.join(s.outputDir, "eval-results"))}`,
    ),
    "set -euo pipefail",
    ...preamble(ctx.config, settings),
    "",
    `exec ${ctx.vlmpipe} eval_merge ${quoteShell(settingsArgs(settings))}`,
    "",
  ];
  return lines.join("\n");
}

/**
 * `<dir>/<pattern>` as the value of an `#SBATCH --output=` line, read back by Slurm as exactly
 * that path. sbatch's parser of `#SBATCH` lines (src/sbatch/opt.c, _get_argument) splits at
 * white space outside quotes, takes `"` and `'` as quotes, a backslash as an escape (inside
 * quotes too) and an unquoted `#` as the start of a comment; slurmstepd then replaces `%x`,
 * `%j`, ... and `%%` (src/slurmd/slurmstepd/fname.c). So the folder's `%` are doubled, and a
 * path with white space, a quote or `#` is double-quoted with `"` escaped. A backslash cannot
 * be passed on: slurmstepd drops every backslash of a path that has one and then expands no
 * `%` pattern, and a line break ends the line.
 */
export function sbatchPath(dir: string, pattern: string): string {
  if (/[\n\r\0]/.test(dir)) throw new UsageError(`an #SBATCH line cannot hold a path with a line break: ${shown(dir)}`);
  if (dir.includes("\\")) {
    throw new UsageError(
      `Slurm cannot write job logs under ${dir}: it drops the backslashes of such a path and then ignores its %-patterns. ` +
        "Use an --output_dir without a backslash, or set log_dir in the cluster config",
    );
  }
  const p = `${dir.replaceAll("%", "%%")}/${pattern}`;
  return /[\s"'#]/.test(p) ? `"${p.replaceAll('"', '\\"')}"` : p;
}

/**
 * Characters after which bash (or a reader) sees a new line, or that a terminal would act on:
 * inside a `#` comment they would turn the rest of a value into shell commands.
 */
const UNSAFE_IN_COMMENT = /[\u0000-\u0008\u000a-\u001f\u007f\u0085\u2028\u2029]/;

/** A value as shown in a comment: as it is, or, with an unsafe character, as bash's $'...'. */
function shown(value: string): string {
  return UNSAFE_IN_COMMENT.test(value) ? ansiC(value) : value;
}

/** One word of a command shown in a comment: quoted for sh, in $'...' when it has a line break. */
function shownWord(word: string): string {
  return UNSAFE_IN_COMMENT.test(word) ? ansiC(word) : quoteShellWord(word);
}

/** bash's $'...' quoting: every character that could end a comment line is an escape. */
function ansiC(s: string): string {
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", "'": "\\'" };
  const body = [...s]
    .map((c) => {
      if (named[c]) return named[c];
      if (!UNSAFE_IN_COMMENT.test(c)) return c;
      const code = c.codePointAt(0) as number;
      return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
    })
    .join("");
  return `$'${body}'`;
}

/** A comment line of the script; anything unsafe left in `text` is escaped (a last guard). */
function comment(text: string): string {
  return `# ${[...text].map((c) => (UNSAFE_IN_COMMENT.test(c) ? ansiC(c).slice(2, -1) : c)).join("")}`;
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
  for (const x of h) {
    // A line break would end the #SBATCH line and make the rest shell commands.
    if (UNSAFE_IN_COMMENT.test(x))
      throw new UsageError(`cluster config: an sbatch option cannot hold a line break: ${shown(x)}`);
  }
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
    out.push("", comment(`model servers: ${settings.server.addresses.map(shown).join(", ")} (already running)`));
  return out;
}

/** What the job does about its model server, as comments and (multi-node) worker start-up. */
function serverLines(ctx: ScriptContext, nodes: number): string[] {
  const { settings, config } = ctx;
  const server = settings.server;
  if (server.kind === "sim") return ["# model server: the built-in simulator, in eval_job's process (not a model)"];
  if (server.kind === "running") return [];
  const exe = serverExecutable(server.type, server.type === "vllm" ? config.vllm_command : config.sglang_command);
  const command = serverCommand({
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
    comment(
      `logged to ${shown(path.join(settings.outputDir, "eval-logs"))}/<job>-${server.type}-server.log and stopped when the job ends:`,
    ),
    comment(`  ${shellWithRaw(redactSecrets(command), { "--port": "<free port>" }, shownWord)}`),
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
      // Ranks 1.. serve no HTTP: the secret flags (--api-key) stay with rank 0, in eval_job.
      args: openServerArgs(settings),
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

/** The server args without their secret flags. */
function openServerArgs(settings: EvalSettings): string {
  const server = splitSecretServerArgs(settings).settings.server;
  return server.kind === "launch" ? server.args : "";
}

/** Shell text of `words`, where the value after each flag in `raw` is written as given (unquoted). */
function shellWithRaw(
  words: readonly string[],
  raw: Record<string, string>,
  quote: (w: string) => string = quoteShellWord,
): string {
  return words
    .map((w, i) => {
      const flag = i > 0 ? (words[i - 1] as string) : "";
      return Object.hasOwn(raw, flag) ? (raw[flag] as string) : quote(w);
    })
    .join(" ");
}
