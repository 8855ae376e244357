import type { EvalType } from "../benchmarks/eval-types.js";
import { UsageError } from "../errors.js";
import type { LaunchableServer } from "../server/launch-command.js";
import { quoteShell, splitSecrets, splitShellWords } from "../server/launch-shell.js";
import type { SimFlags } from "../server/sim/in-process.js";
import type { ClusterConfig } from "./config.js";

/** Set by the local executor for its job processes: the eval's pid (a job stops when it is gone). */
export const PARENT_PID_ENV = "VLMPIPE_PARENT_PID";

/**
 * Set in the environment of Slurm jobs that start a server: the secret flags of --server_args
 * (`--api-key K`, see SECRET_FLAGS) as shell words. A job script is saved and printed, and a
 * job's command line is visible in `ps`: secrets travel beside OPENAI_API_KEY instead.
 */
export const SERVER_SECRET_ARGS_ENV = "VLMPIPE_SERVER_SECRET_ARGS";

/** Where the model server of an eval comes from. */
export type ServerSpec =
  /** Servers the user runs (`--server_address`, repeatable): requests are spread over them. */
  | { kind: "running"; type: "vllm" | "sglang" | "openai"; addresses: string[] }
  /** The built-in simulator, answering from the benchmarks' data (`--server_type sim`). */
  | { kind: "sim"; sim: SimFlags }
  /** vlmpipe starts the server: in this process's eval (local) or in each Slurm job. */
  | { kind: "launch"; type: LaunchableServer; gpus: number; nodes: number; args: string; startTimeoutSeconds: number };

/**
 * One eval, as every part of it sees it: the eval command, each job (local child process or
 * Slurm array task) and the merge step. Paths are absolute so a job can run anywhere.
 */
export type EvalSettings = {
  benchmarks: string;
  model: string;
  dataDir: string;
  /** --split: the data file of every benchmark (default: each benchmark's own). */
  split?: string;
  outputDir: string;
  evalType?: EvalType;
  maxConcurrentRequests: number;
  overrides: Record<string, unknown>;
  /** 1: no chunking. */
  numChunks: number;
  rerunDone: boolean;
  server: ServerSpec;
  progressSeconds: number;
  /** Each job stops cleanly after this many failed rows in a row (0: never; default 100). */
  maxFailures?: number;
  /**
   * With the simulator: its settings that decide answers (part of each job's identity). Kept
   * apart from `server` because jobs in child processes are given the simulator's address as a
   * running server.
   */
  simulator?: Record<string, unknown>;
};

/**
 * The flags of `vlmpipe eval_job` / `eval_merge` that describe `s` (no job selector). The API
 * key is never among them: jobs read $OPENAI_API_KEY.
 */
export function settingsArgs(s: EvalSettings): string[] {
  const a = [
    "--benchmarks",
    s.benchmarks,
    "--model",
    s.model,
    "--data_dir",
    s.dataDir,
    "--output_dir",
    s.outputDir,
    "--max_concurrent_requests",
    String(s.maxConcurrentRequests),
    "--progress_seconds",
    String(s.progressSeconds),
  ];
  if (s.split) a.push("--split", s.split);
  if (s.evalType) a.push("--eval_type", s.evalType);
  if (s.numChunks > 1) a.push("--num_chunks", String(s.numChunks));
  if (s.rerunDone) a.push("--overwrite");
  if (s.maxFailures !== undefined) a.push("--max_failures", String(s.maxFailures));
  a.push(...serverArgs(s.server));
  if (Object.keys(s.overrides).length > 0) a.push("--overrides_json", JSON.stringify(s.overrides));
  if (s.simulator && s.server.kind !== "sim") a.push("--simulator_json", JSON.stringify(s.simulator));
  return a;
}

/**
 * `s` with the secret flags taken out of the server args it starts a server with; those flags
 * as shell words for SERVER_SECRET_ARGS_ENV ("" when there are none), and eval_job's flag that
 * names them (without their values), so that a job they do not reach says so.
 */
export function splitSecretServerArgs(s: EvalSettings): {
  settings: EvalSettings;
  secretArgs: string;
  jobArgs: string[];
} {
  if (s.server.kind !== "launch" || !s.server.args) return { settings: s, secretArgs: "", jobArgs: [] };
  const { open, secret, flags } = splitSecrets(splitShellWords(s.server.args, "--server_args"));
  if (secret.length === 0) return { settings: s, secretArgs: "", jobArgs: [] };
  // Named without their dashes: a value starting with "--" would be read as a flag.
  const names = flags.map((f) => f.replace(/^-+/, ""));
  return {
    settings: { ...s, server: { ...s.server, args: quoteShell(open) } },
    secretArgs: quoteShell(secret),
    jobArgs: ["--server_secret_flags", [...new Set(names)].join(",")],
  };
}

/**
 * The job's side of splitSecretServerArgs: the secret flags put back after the others, when its
 * eval_job line says to expect them (`expected`: a variable left over in the submitter's
 * environment is not taken). When none came (sbatch told not to pass the environment on), the
 * job stops: the server would otherwise run without them (no --api-key: open to anyone).
 */
export function withSecretServerArgs(
  s: EvalSettings,
  secretArgs: string | undefined,
  expected: string | undefined,
): EvalSettings {
  if (!expected) return s;
  if (!secretArgs?.trim()) {
    const names = expected
      .split(",")
      .map((n) => `--${n}`)
      .join(", ");
    throw new UsageError(
      `the server's ${names} did not reach this job: secret server flags come through the job's environment ` +
        `($${SERVER_SECRET_ARGS_ENV}, as OPENAI_API_KEY does), which sbatch passes on unless the cluster config's ` +
        "sbatch_args say otherwise (--export)",
    );
  }
  if (s.server.kind !== "launch") return s;
  return { ...s, server: { ...s.server, args: [s.server.args, secretArgs].filter(Boolean).join(" ") } };
}

/**
 * eval_job's `--cluster_json`: what a job takes from the cluster config the eval was submitted
 * with (its server commands). Without it a job would look for a config of its own
 * (./cluster_configs/local.yaml, $VLMPIPE_CLUSTER_CONFIG) and could start another server.
 * `env_vars` are left out: the executors put them in the job's environment themselves, and
 * they may hold secrets, which a command line must not.
 */
export function jobClusterArgs(config: ClusterConfig): string[] {
  const c: Record<string, string> = { executor: config.executor };
  if (config.vllm_command) c.vllm_command = config.vllm_command;
  if (config.sglang_command) c.sglang_command = config.sglang_command;
  return ["--cluster_json", JSON.stringify(c)];
}

export function serverArgs(server: ServerSpec): string[] {
  switch (server.kind) {
    case "running":
      return ["--server_type", server.type, ...server.addresses.flatMap((u) => ["--server_address", u])];
    case "sim": {
      const a = [
        "--server_type",
        "sim",
        "--sim_accuracy",
        String(server.sim.sim_accuracy),
        "--sim_latency_ms",
        String(server.sim.sim_latency_ms),
        "--sim_seed",
        String(server.sim.sim_seed),
      ];
      if (server.sim.sim_answers) a.push("--sim_answers", server.sim.sim_answers);
      if (server.sim.sim_answer_tokens) a.push("--sim_answer_tokens", String(server.sim.sim_answer_tokens));
      if (server.sim.sim_token_delay_ms) a.push("--sim_token_delay_ms", String(server.sim.sim_token_delay_ms));
      return a;
    }
    case "launch":
      return [
        "--server_type",
        server.type,
        "--server_gpus",
        String(server.gpus),
        "--server_nodes",
        String(server.nodes),
        ...(server.args ? ["--server_args", server.args] : []),
        "--server_start_timeout",
        String(server.startTimeoutSeconds),
      ];
  }
}
