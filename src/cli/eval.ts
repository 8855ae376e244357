import { type Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { startSimServer } from "../server/sim/sim-server.js";
import { parseBenchmarks } from "../run/benchmark-spec.js";
import { firstRequest } from "../run/dry-run.js";
import { dataFile, readDataRows, runEval } from "../run/eval-run.js";
import { EVAL_TYPES, type EvalType } from "../run/evaluation-stages.js";
import { normalizeServerAddress } from "../run/server-address.js";
import { type CliContext, Exit } from "./context.js";
import { installInterrupts } from "./interrupt.js";
import { addSimFlags, type SimFlags } from "./sim-in-process.js";

type EvalFlags = SimFlags & {
  benchmarks: string;
  model: string;
  data_dir: string;
  output_dir: string;
  server_address?: string;
  server_type: "vllm" | "sglang" | "openai" | "sim";
  eval_type?: EvalType;
  max_concurrent_requests: number;
  api_key?: string;
  dry_run?: boolean;
  quiet?: boolean;
  progress_seconds: number;
};

export function registerEval(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("eval")
    .description("run benchmarks end to end: generate (resumable), extract, score, metrics.json and tables")
    .requiredOption("--benchmarks <list>", "comma-separated benchmarks, :N for N seeds (mmmu-pro:4 = seeds 0..3)")
    .requiredOption("--model <name>", "model name, as the server serves it")
    .requiredOption("--data_dir <dir>", "where prepare_data wrote the benchmarks")
    .requiredOption("--output_dir <dir>", "results go to <output_dir>/eval-results/<benchmark>/, logs to eval-logs/")
    .option("--server_address <url>", "a running server's OpenAI base URL (host:port works too)")
    .addOption(
      new Option("--server_type <type>", "server kind; sim runs the built-in simulator, answering from the benchmark data")
        .choices(["vllm", "sglang", "openai", "sim"])
        .default("vllm"),
    )
    .addOption(new Option("--eval_type <type>", "answer extractor (default: the benchmark's)").choices([...EVAL_TYPES]))
    .option("--max_concurrent_requests <n>", "requests in flight at most", Number, 512)
    .option("--api_key <key>", "API key sent as a Bearer token (default: $OPENAI_API_KEY); never written anywhere")
    .option("--dry_run", "print the first rendered request (images shortened) and exit", false)
    .option("--quiet", "no progress lines on stderr", false)
    .option("--progress_seconds <s>", "seconds between progress lines on stderr", Number, 30);
  addSimFlags(cmd);
  cmd.addHelpText("after", "\nSettings: ++inference.temperature=0 ++inference.tokens_to_generate=16384 ++max_samples=N ... (see README)");
  cmd.action(async (flags: EvalFlags) => {
    ctx.exitCode = await evalCommand(flags, ctx);
  });
}

async function evalCommand(flags: EvalFlags, ctx: CliContext): Promise<number> {
  const log = (l: string) => ctx.stderr.write(`${l}\n`);
  const runs = parseBenchmarks(flags.benchmarks);
  if (flags.dry_run) {
    const first = runs[0] as (typeof runs)[number];
    ctx.stdout.write(
      `${await firstRequest({
        inputFile: await dataFile(flags.data_dir, first),
        promptConfig: first.benchmark.promptConfig,
        model: flags.model,
        overrides: ctx.overrides,
      })}\n`,
    );
    return Exit.OK;
  }
  if (flags.server_type !== "sim" && !flags.server_address) {
    throw new UsageError("give --server_address of a running server, or --server_type sim for the built-in simulator");
  }
  let sim: Awaited<ReturnType<typeof startSimServer>> | undefined;
  if (flags.server_type === "sim") {
    const rows = flags.sim_answers
      ? undefined
      : (await Promise.all(runs.map(async (r) => readDataRows(await dataFile(flags.data_dir, r))))).flat();
    sim = await startSimServer({
      model: flags.model,
      answers: flags.sim_answers,
      answer_rows: rows as never,
      accuracy: flags.sim_accuracy,
      latency_ms: flags.sim_latency_ms,
      seed: flags.sim_seed,
    });
    log(`vlmpipe: --server_type sim: simulated vLLM server at ${sim.url}/v1, accuracy ${flags.sim_accuracy} (a simulator, not a model)`);
  }
  const signals = ctx.handleSignals ? installInterrupts(log) : undefined;
  try {
    const r = await runEval({
      benchmarks: flags.benchmarks,
      model: flags.model,
      dataDir: flags.data_dir,
      outputDir: flags.output_dir,
      serverAddress: sim ? `${sim.url}/v1` : normalizeServerAddress(flags.server_address as string),
      apiKey: flags.api_key ?? process.env.OPENAI_API_KEY,
      maxConcurrentRequests: flags.max_concurrent_requests,
      overrides: ctx.overrides,
      evalType: flags.eval_type,
      log,
      write: (t) => ctx.stdout.write(t),
      progressSeconds: flags.quiet ? 0 : flags.progress_seconds,
      stop: signals?.stop,
      abort: signals?.abort,
    });
    if (r.interrupted) return Exit.INTERRUPTED;
    return r.failedRows > 0 ? Exit.ROWS_FAILED : Exit.OK;
  } finally {
    signals?.dispose();
    await sim?.close();
  }
}
