import type { Command } from "commander";

export type SimFlags = {
  sim_answers?: string;
  sim_accuracy: number;
  sim_latency_ms: number;
  sim_seed: number;
  sim_answer_tokens?: number;
  sim_token_delay_ms?: number;
};

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
    answer_tokens: flags.sim_answer_tokens,
    token_delay_ms: flags.sim_token_delay_ms,
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
    .option("--sim_accuracy <p>", "with --server_type sim: probability of answering right", Number, 0.8)
    .option("--sim_latency_ms <ms>", "with --server_type sim: delay per request", Number, 0)
    .option("--sim_seed <n>", "with --server_type sim: seed of its deterministic draws", Number, 0)
    .option("--sim_answer_tokens <n>", "with --server_type sim: long answers of n tokens, a token a chunk", Number)
    .option("--sim_token_delay_ms <ms>", "with --server_type sim: delay per streamed chunk (token)", Number);
}
