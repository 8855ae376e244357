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

/**
 * Flags vlmpipe sets itself, with every spelling the server's parser takes for them:
 * `--server_args` giving one would point the client at the wrong server (port, served name) or
 * change the GPUs asked for (the server's last value wins). vLLM's parser turns `_` into `-` in
 * flag names (FlexibleArgumentParser) and knows `-tp` and `--model` (moved to the positional
 * model by `vllm serve`); SGLang's takes `--model` for `--model-path` and
 * `--tensor-parallel-size` for `--tp-size`. Both are argparse parsers that accept any
 * unambiguous prefix of a long flag (`--tp` is SGLang's `--tp-size`), so prefixes are refused
 * too. NeMo-Skills reads these flags the same way (`_parse_last_flag` in
 * nemo_skills/pipeline/utils/server.py: `--flag value` and `--flag=value`, both spellings).
 */
const RESERVED: Record<LaunchableServer, { long: string[]; short: string[] }> = {
  vllm: { long: ["--port", "--served-model-name", "--tensor-parallel-size", "--model"], short: ["-tp"] },
  sglang: {
    long: ["--port", "--model-path", "--model", "--tp-size", "--tensor-parallel-size", "--served-model-name"],
    short: [],
  },
};

/** Set by vlmpipe only when the server spans nodes. */
const RESERVED_MULTI_NODE: Record<LaunchableServer, { long: string[]; short: string[] }> = {
  vllm: { long: ["--pipeline-parallel-size", "--distributed-executor-backend"], short: ["-pp"] },
  sglang: { long: ["--nnodes", "--node-rank", "--dist-init-addr"], short: [] },
};

/**
 * The reserved flag `word` sets, if any: `word` as the server's parser reads it (`_` as `-`
 * in a long flag's name, `=value` dropped, an unambiguous prefix standing for the whole flag).
 */
export function reservedFlag(type: LaunchableServer, word: string, nodes = 1): string | undefined {
  if (!word.startsWith("-") || /^-\d/.test(word)) return undefined;
  const name = word.split("=")[0] as string;
  const multi = nodes > 1 ? RESERVED_MULTI_NODE[type] : { long: [], short: [] };
  if (!name.startsWith("--")) return [...RESERVED[type].short, ...multi.short].find((f) => f === name);
  if (name.length <= 2) return undefined;
  const normal = `--${name.slice(2).replaceAll("_", "-")}`;
  const long = [...RESERVED[type].long, ...multi.long];
  return long.find((f) => f === normal) ?? long.find((f) => f.startsWith(normal));
}

/**
 * The argv that starts a model server:
 *   vllm serve M --port P --tensor-parallel-size G --served-model-name M ...server_args
 *   python -m sglang.launch_server --model-path M --port P --tp G ...server_args
 */
export function serverCommand(o: ServerCommandOptions): string[] {
  const exe = splitShellWords(o.executable, `the ${o.type} command`);
  if (exe.length === 0) throw new UsageError(`the ${o.type} command is empty`);
  const extra = splitShellWords(o.args ?? "", "--server_args");
  const nodes = o.nodes ?? 1;
  for (const a of extra) {
    const flag = reservedFlag(o.type, a, nodes);
    if (flag) {
      const name = a.split("=")[0] as string;
      throw new UsageError(
        `--server_args must not set ${name === flag ? flag : `${name} (${o.type} reads it as ${flag})`}: vlmpipe sets it ` +
          "(use --server_gpus for GPUs and --server_nodes for nodes; the port is chosen free; the model is --model)",
      );
    }
  }
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

/**
 * Secrets a started vLLM reads from its environment as well as from its flags: `--api-key K`
 * as VLLM_API_KEY, `--hf-token T` as HF_TOKEN. Moved there, they are not on the server's command
 * line, which `ps` shows every user of the node. A flag given more than once (vLLM takes several
 * API keys) or with no value stays where it is. SGLang has no such variables: its flags stay.
 */
export function secretsToEnv(
  type: LaunchableServer,
  argv: readonly string[],
): { argv: string[]; env: Record<string, string> } {
  const out = [...argv];
  const env: Record<string, string> = {};
  if (type !== "vllm") return { argv: out, env };
  for (const [names, variable] of VLLM_SECRET_ENV) {
    const at = out.flatMap((w, i) => (names.some((n) => w === n || w.startsWith(`${n}=`)) ? [i] : []));
    if (at.length !== 1) continue;
    const i = at[0]!;
    const w = out[i]!;
    const eq = w.indexOf("=");
    if (eq > 0) {
      env[variable] = w.slice(eq + 1);
      out.splice(i, 1);
    } else if (i + 1 < out.length) {
      env[variable] = out[i + 1]!;
      out.splice(i, 2);
    }
  }
  return { argv: out, env };
}

const VLLM_SECRET_ENV: ReadonlyArray<[readonly string[], string]> = [
  [["--api-key", "--api_key"], "VLLM_API_KEY"],
  [["--hf-token", "--hf_token"], "HF_TOKEN"],
];
