import path from "node:path";
import { UsageError } from "../errors.js";
import { reachDirectly } from "../net/direct-origins.js";
import { secretsToEnv, serverCommand, serverExecutable } from "../server/launch-command.js";
import { freePort } from "../server/launch-port.js";
import { launchServer } from "../server/launch-server.js";
import { startSimServer } from "../server/sim/sim-server.js";
import type { ClusterConfig } from "./config.js";
import { readDataRows } from "./eval-inputs.js";
import type { EvalPlan } from "./plan.js";

export type ServerSet = {
  /** OpenAI base URLs. */
  addresses: string[];
  /** Stops what was started here (nothing for servers the user runs). */
  close(): Promise<void>;
  /** A server started here that crashed during the run: why (see LaunchedServer.died). */
  died?: Promise<string>;
  /** Started here, on this machine (reached directly, whatever the proxy variables say). */
  local?: boolean;
};

/**
 * The model server(s) of an eval on this machine: the user's running servers as they are,
 * the simulator in this process (answering from the benchmarks' data), or a vLLM/SGLang server
 * started as a child process on a free port, whose log goes to `logFile`.
 */
export async function startServers(
  plan: EvalPlan,
  o: { config?: ClusterConfig; logFile: string; log: (l: string) => void; signal?: AbortSignal },
): Promise<ServerSet> {
  const s = plan.settings;
  const server = s.server;
  switch (server.kind) {
    case "running":
      return { addresses: server.addresses, close: async () => {} };
    case "sim": {
      const rows = server.sim.sim_answers
        ? undefined
        : (await Promise.all(plan.benchmarks.map((b) => readDataRows(b.inputFile)))).flat();
      const sim = await startSimServer({
        model: s.model,
        answers: server.sim.sim_answers,
        answer_rows: rows as never,
        accuracy: server.sim.sim_accuracy,
        latency_ms: server.sim.sim_latency_ms,
        seed: server.sim.sim_seed,
      });
      o.log(
        `vlmpipe: --server_type sim: simulated vLLM server at ${sim.url}/v1, accuracy ${server.sim.sim_accuracy} (a simulator, not a model)`,
      );
      // On this machine's loopback: reached directly whatever the proxy variables say.
      const undoDirect = reachDirectly(sim.url);
      return {
        addresses: [`${sim.url}/v1`],
        close: async () => {
          undoDirect();
          await sim.close();
        },
        local: true,
      };
    }
    case "launch": {
      if (server.nodes > 1 && !process.env.SLURM_JOB_ID) {
        throw new UsageError(
          `--server_nodes ${server.nodes} needs a multi-node Slurm job: use --cluster slurm (or a Slurm cluster config)`,
        );
      }
      const port = await freePort();
      const configured = server.type === "vllm" ? o.config?.vllm_command : o.config?.sglang_command;
      const command = serverCommand({
        type: server.type,
        model: s.model,
        port,
        gpus: server.gpus,
        nodes: server.nodes,
        nodeRank: 0,
        distInitAddr: process.env.VLMPIPE_SGLANG_DIST_INIT_ADDR,
        args: server.args,
        executable: serverExecutable(server.type, configured),
      });
      // vLLM's API key and hub token go in its environment, off the command line `ps` shows.
      const hidden = secretsToEnv(server.type, command);
      const launched = await launchServer({
        command: hidden.argv,
        port,
        logFile: o.logFile,
        env: { ...process.env, ...stringEnv(o.config?.env_vars ?? {}), ...hidden.env },
        startTimeoutSeconds: server.startTimeoutSeconds,
        signal: o.signal,
        log: o.log,
        name: server.type,
      });
      return { addresses: [launched.baseUrl], close: () => launched.stop(), died: launched.died, local: true };
    }
  }
}

/**
 * The jobs' stop and abort signals, also raised when a server started here crashes (`died`):
 * the jobs' rows could only fail against a dead port. The abort comes 300 ms after the stop:
 * a job process is told each by a SIGINT, and two SIGINTs sent together arrive as one.
 * `down()` is the crash's message once it happened.
 */
export function watchServers(
  servers: ServerSet,
  signals: { stop?: AbortSignal; abort?: AbortSignal },
  log: (line: string) => void = () => {},
): { stop: AbortSignal; abort: AbortSignal; down: () => string | undefined } {
  const downStop = new AbortController();
  const downAbort = new AbortController();
  let message: string | undefined;
  void servers.died?.then((m) => {
    message = m;
    log("vlmpipe: the model server is gone: stopping the jobs");
    downStop.abort();
    setTimeout(() => downAbort.abort(), 300).unref();
  });
  const either = (s: AbortSignal | undefined, own: AbortSignal) => (s ? AbortSignal.any([s, own]) : own);
  return {
    stop: either(signals.stop, downStop.signal),
    abort: either(signals.abort, downAbort.signal),
    down: () => message,
  };
}

/**
 * `env` with the servers at `addresses` added to `no_proxy` and `NO_PROXY`: the environment of
 * job processes that reach servers this process started on this machine, so that they, too,
 * connect directly (see net/direct-origins.ts). The entries are `host:port`, that port only.
 */
export function directEnv(env: NodeJS.ProcessEnv, addresses: readonly string[]): NodeJS.ProcessEnv {
  if (addresses.length === 0) return env;
  // As proxy-env.ts reads it: no_proxy first, an empty value counting as unset.
  const current = env.no_proxy?.trim() || env.NO_PROXY?.trim() || "";
  const entries = addresses.map((a) => new URL(a).host);
  const value = [current, ...entries].filter(Boolean).join(",");
  return { ...env, no_proxy: value, NO_PROXY: value };
}

export function stringEnv(vars: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)]));
}

/** `<output_dir>/eval-logs/<name>`. */
export function serverLogFile(plan: EvalPlan, name: string): string {
  return path.join(plan.logsDir, name);
}
