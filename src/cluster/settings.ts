import type { EvalType } from "../benchmarks/eval-types.js";
import type { LaunchableServer } from "../server/launch-command.js";
import type { SimFlags } from "../server/sim/in-process.js";

/** Set by the local executor for its job processes: the eval's pid (a job stops when it is gone). */
export const PARENT_PID_ENV = "VLMPIPE_PARENT_PID";

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
  outputDir: string;
  evalType?: EvalType;
  maxConcurrentRequests: number;
  overrides: Record<string, unknown>;
  /** 1: no chunking. */
  numChunks: number;
  rerunDone: boolean;
  server: ServerSpec;
  progressSeconds: number;
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
  if (s.evalType) a.push("--eval_type", s.evalType);
  if (s.numChunks > 1) a.push("--num_chunks", String(s.numChunks));
  if (s.rerunDone) a.push("--rerun_done");
  a.push(...serverArgs(s.server));
  if (Object.keys(s.overrides).length > 0) a.push("--overrides_json", JSON.stringify(s.overrides));
  if (s.simulator && s.server.kind !== "sim") a.push("--simulator_json", JSON.stringify(s.simulator));
  return a;
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
