import { reachDirectly } from "../../net/direct-origins.js";

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
  const { startSimServer } = await import("./sim-server.js");
  const sim = await startSimServer({
    model,
    answers: flags.sim_answers,
    accuracy: flags.sim_accuracy,
    latency_ms: flags.sim_latency_ms,
    seed: flags.sim_seed,
    answer_tokens: flags.sim_answer_tokens,
    token_delay_ms: flags.sim_token_delay_ms,
  });
  // Started here, on this machine's loopback: reached directly whatever the proxy variables say.
  reachDirectly(sim.url);
  log(
    `vlmpipe: --server_type sim: simulated vLLM server at ${sim.url}/v1 (accuracy ${flags.sim_accuracy}` +
      `${flags.sim_answers ? `, answers from ${flags.sim_answers}` : ", no answer book"}); not a model`,
  );
  return sim;
}
