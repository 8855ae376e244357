import { UsageError } from "../errors.js";
import { splitShellWords } from "./launch-shell.js";

export const LAUNCHABLE_SERVERS = ["vllm", "sglang"] as const;
export type LaunchableServer = (typeof LAUNCHABLE_SERVERS)[number];

/** The environment variable that names each server's executable (sites wrap it in containers). */
export const SERVER_BIN_ENV: Record<LaunchableServer, string> = {
  vllm: "VLMPIPE_VLLM_BIN",
  sglang: "VLMPIPE_SGLANG_BIN",
};

const DEFAULT_BIN: Record<LaunchableServer, string> = {
  vllm: "vllm",
  sglang: "python -m sglang.launch_server",
};

export type ServerCommandOptions = {
  type: LaunchableServer;
  /** Model path or hub id; also the served model name the client asks for. */
  model: string;
  port: number;
  /** GPUs per node: tensor parallelism. */
  gpus: number;
  /** Nodes the server spans (> 1: vLLM pipeline-parallel over Ray, SGLang --nnodes). */
  nodes?: number;
  /** SGLang multi-node: this node's rank and the head's host:port. */
  nodeRank?: number;
  distInitAddr?: string;
  /** `--server_args`, as the user typed them (shell words). */
  args?: string;
  /** The executable as shell words; see serverExecutable. */
  executable: string;
};

/**
 * The executable of a server, as shell words: the cluster config's `vllm_command` /
 * `sglang_command`, else $VLMPIPE_VLLM_BIN / $VLMPIPE_SGLANG_BIN, else `vllm` /
 * `python -m sglang.launch_server`.
 */
export function serverExecutable(
  type: LaunchableServer,
  configured?: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return configured ?? (env[SERVER_BIN_ENV[type]] || DEFAULT_BIN[type]);
}

/** Flags vlmpipe sets itself; `--server_args` giving them would point the client at the wrong server. */
const RESERVED: Record<LaunchableServer, string[]> = {
  vllm: ["--port", "--served-model-name", "--tensor-parallel-size", "-tp"],
  sglang: ["--port", "--model-path", "--tp", "--tp-size"],
};

/**
 * The argv that starts a model server:
 *   vllm serve M --port P --tensor-parallel-size G --served-model-name M ...server_args
 *   python -m sglang.launch_server --model-path M --port P --tp G ...server_args
 */
export function serverCommand(o: ServerCommandOptions): string[] {
  const exe = splitShellWords(o.executable, `the ${o.type} command`);
  if (exe.length === 0) throw new UsageError(`the ${o.type} command is empty`);
  const extra = splitShellWords(o.args ?? "", "--server_args");
  for (const a of extra) {
    const name = a.split("=")[0] as string;
    if (RESERVED[o.type].includes(name)) {
      throw new UsageError(
        `--server_args must not set ${name}: vlmpipe sets it (use --server_gpus for GPUs; the port is chosen free)`,
      );
    }
  }
  const nodes = o.nodes ?? 1;
  if (o.type === "vllm") {
    const multi = nodes > 1 ? ["--pipeline-parallel-size", String(nodes), "--distributed-executor-backend", "ray"] : [];
    return [
      ...exe,
      "serve",
      o.model,
      "--port",
      String(o.port),
      "--tensor-parallel-size",
      String(o.gpus),
      "--served-model-name",
      o.model,
      ...multi,
      ...extra,
    ];
  }
  const multi =
    nodes > 1
      ? [
          "--nnodes",
          String(nodes),
          "--node-rank",
          String(o.nodeRank ?? 0),
          "--dist-init-addr",
          o.distInitAddr ?? "127.0.0.1:5757",
        ]
      : [];
  // SGLang's --tp counts every GPU of the server, over all its nodes.
  return [
    ...exe,
    "--model-path",
    o.model,
    "--port",
    String(o.port),
    "--tp",
    String(o.gpus * nodes),
    ...multi,
    ...extra,
  ];
}
