import type { Command } from "commander";
import { z } from "zod";
import { integerFlag, numberFlag, probabilityFlag } from "./numeric-flags.js";

export type SimFlags = { sim_answers?: string; sim_accuracy: number; sim_latency_ms: number; sim_seed: number };

/**
 * `--server_type sim`: the simulator in this process on a free loopback port, so a whole run
 * works with no GPU. It is a simulator, not a model: its answers come from the answer book.
 */
export async function startInProcessSim(model: string, flags: SimFlags, log: (l: string) => void) {
  // Loaded here, not with the CLI: most runs talk to a real server.
  const { startSimServer } = await import("../server/sim/sim-server.js");
  const sim = await startSimServer({
    model,
    answers: flags.sim_answers,
    accuracy: flags.sim_accuracy,
    latency_ms: flags.sim_latency_ms,
    seed: flags.sim_seed,
  });
  log(
    `vlmpipe: --server_type sim: simulated vLLM server at ${sim.url}/v1 (accuracy ${flags.sim_accuracy}` +
      `${flags.sim_answers ? `, answers from ${flags.sim_answers}` : ", no answer book"}); not a model`,
  );
  return sim;
}

export function addSimFlags(cmd: Command): void {
  cmd
    .option("--sim_answers <file>", "with --server_type sim: JSONL answer book (rows with problem/id and expected_answer); default: the input file")
    .option(
      "--sim_accuracy <p>",
      "with --server_type sim: probability of answering right",
      probabilityFlag("--sim_accuracy"),
      0.8,
    )
    .option(
      "--sim_latency_ms <ms>",
      "with --server_type sim: delay per request",
      numberFlag("--sim_latency_ms", z.number().min(0), "milliseconds, 0 or more"),
      0,
    )
    .option("--sim_seed <n>", "with --server_type sim: seed of its deterministic draws", integerFlag("--sim_seed"), 0);
}
