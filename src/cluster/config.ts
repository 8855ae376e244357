import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UsageError } from "../errors.js";
import { packageRoot } from "../paths.js";
import { timerSeconds } from "../util/timer-seconds.js";

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name");
const envVars = z.record(envName, z.union([z.string(), z.number(), z.boolean()])).default({});

/** What both executors share: how servers are started and what their processes see. */
const common = {
  /** Exported to the model server and the eval jobs. */
  env_vars: envVars,
  /** The vLLM executable as shell words, e.g. `apptainer exec --nv /images/vllm.sif vllm` (default $VLMPIPE_VLLM_BIN, else `vllm`). */
  vllm_command: z.string().min(1).optional(),
  /** The SGLang server command (default $VLMPIPE_SGLANG_BIN, else `python -m sglang.launch_server`). */
  sglang_command: z.string().min(1).optional(),
};

export const LocalClusterConfigSchema = z.strictObject({
  executor: z.literal("local"),
  ...common,
  /** Jobs run at once (default: one per server). */
  max_parallel_jobs: z.number().int().positive().optional(),
});

export const SlurmClusterConfigSchema = z.strictObject({
  executor: z.literal("slurm"),
  ...common,
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  qos: z.string().min(1).optional(),
  /** sbatch --time, e.g. "04:00:00" or "1-00:00:00". */
  time: z
    .string()
    .regex(/^(\d+-)?\d+(:\d{1,2}){0,2}$/, 'a Slurm time limit such as "04:00:00" or "1-00:00:00"')
    .optional(),
  /**
   * GPUs of a node. Jobs that start a server ask for --gpus-per-node=<server_gpus>, which must
   * not exceed this; 0 means the cluster has no GPU gres and nothing is asked for.
   */
  gpus_per_node: z.number().int().min(0).optional(),
  cpus_per_task: z.number().int().positive().optional(),
  /** sbatch --mem, e.g. "64G" (0: the whole node's memory). */
  mem: z.string().min(1).optional(),
  /** Further sbatch options, one per entry, e.g. "--exclusive" or "--constraint=h100". */
  sbatch_args: z.array(z.string().regex(/^--?\w/, "an sbatch option starting with -")).default([]),
  /** Shell lines run first in every job script: `module load ...`, `source venv/bin/activate`, ... */
  setup: z.array(z.string()).default([]),
  /** How a job runs vlmpipe (default: this node binary and this installation's CLI). */
  vlmpipe_command: z.string().min(1).optional(),
  /** Multi-node vLLM (--server_nodes > 1) joins the nodes into a Ray cluster with this command. */
  ray_command: z.string().min(1).default("ray"),
  /** One job array for the generation jobs (false: one sbatch per job). */
  job_array: z.boolean().default(true),
  /** At most this many array tasks at once (--array=...%N). */
  max_array_parallel: z.number().int().positive().optional(),
  /** Job names start with this (then a hash of the eval's output files: see evalJobName). */
  job_name_prefix: z
    .string()
    .regex(/^[\w.-]+$/, "letters, digits, '.', '_' or '-'")
    .default("vlmpipe"),
  /** Where job scripts and Slurm's job logs go (default: <output_dir>/eval-logs/slurm). */
  log_dir: z.string().min(1).optional(),
  /** With --wait: seconds between squeue polls. */
  poll_seconds: timerSeconds().default(30),
});

export const ClusterConfigSchema = z.discriminatedUnion("executor", [
  LocalClusterConfigSchema,
  SlurmClusterConfigSchema,
]);

export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;
export type LocalClusterConfig = z.infer<typeof LocalClusterConfigSchema>;
export type SlurmClusterConfig = z.infer<typeof SlurmClusterConfigSchema>;

export type LoadedClusterConfig = { name: string; file: string | null; config: ClusterConfig };

/** Validates a parsed YAML object; messages name the file and the key. */
export function parseClusterConfig(raw: unknown, where: string): ClusterConfig {
  const r = ClusterConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const executor = (raw as { executor?: unknown } | null)?.executor;
  const shape =
    executor === "local"
      ? LocalClusterConfigSchema.shape
      : executor === "slurm"
        ? SlurmClusterConfigSchema.shape
        : undefined;
  const issues = r.error.issues.map((i) => {
    if (i.code === "unrecognized_keys") {
      return `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.join(", ")} (known: ${Object.keys(shape ?? {}).join(", ")})`;
    }
    const key = i.path.map(String).join(".");
    if (key === "executor") return 'executor: must be "local" or "slurm"';
    return `${key || "(top level)"}: ${i.message}`;
  });
  throw new UsageError(`cluster config ${where}: ${issues.join("; ")}`);
}

/**
 * `--cluster` to a config. `local` and `slurm` are built in (defaults only); any other NAME is
 * `NAME.yaml` in $VLMPIPE_CLUSTER_CONFIG (when that is a folder), `./cluster_configs/`, or the
 * package's `cluster_configs/`; a value ending in .yaml/.yml is a path. Without --cluster,
 * $VLMPIPE_CLUSTER_CONFIG naming a file is used, else `local`.
 */
export async function loadClusterConfig(
  name: string | undefined,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<LoadedClusterConfig> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const fromEnv = env.VLMPIPE_CLUSTER_CONFIG;
  if (name === undefined) {
    if (fromEnv && isFile(fromEnv)) return readConfigFile(path.basename(fromEnv).replace(/\.ya?ml$/, ""), fromEnv);
    name = "local";
  }
  if (/\.ya?ml$/.test(name)) {
    const file = path.resolve(cwd, name);
    if (!isFile(file)) throw new UsageError(`--cluster ${name}: no such file`);
    return readConfigFile(path.basename(name).replace(/\.ya?ml$/, ""), file);
  }
  if (!/^[\w.-]+$/.test(name))
    throw new UsageError(`--cluster "${name}": give local, slurm, a config name or a .yaml file`);
  const places = [
    ...(fromEnv && isDir(fromEnv) ? [path.join(fromEnv, `${name}.yaml`)] : []),
    path.join(cwd, "cluster_configs", `${name}.yaml`),
    path.join(packageRoot, "cluster_configs", `${name}.yaml`),
  ];
  const found = places.find(isFile);
  if (found) return readConfigFile(name, found);
  if (name === "local" || name === "slurm")
    return { name, file: null, config: parseClusterConfig({ executor: name }, name) };
  throw new UsageError(`--cluster ${name}: no cluster config found; looked for ${[...new Set(places)].join(", ")}`);
}

async function readConfigFile(name: string, file: string): Promise<LoadedClusterConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, "utf8"));
  } catch (e) {
    throw new UsageError(`cluster config ${file}: not valid YAML (${(e as Error).message})`);
  }
  return { name, file, config: parseClusterConfig(raw ?? {}, file) };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
