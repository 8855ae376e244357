import type { Command } from "commander";

export { type SimFlags, startInProcessSim } from "../server/sim/in-process.js";

export function addSimFlags(cmd: Command): void {
  cmd
    .option("--sim_answers <file>", "with --server_type sim: JSONL answer book (rows with problem/id and expected_answer); default: the input file")
    .option("--sim_accuracy <p>", "with --server_type sim: probability of answering right", Number, 0.8)
    .option("--sim_latency_ms <ms>", "with --server_type sim: delay per request", Number, 0)
    .option("--sim_seed <n>", "with --server_type sim: seed of its deterministic draws", Number, 0)
    .option("--sim_answer_tokens <n>", "with --server_type sim: long answers of n tokens, a token a chunk", Number)
    .option("--sim_token_delay_ms <ms>", "with --server_type sim: delay per streamed chunk (token)", Number);
}
