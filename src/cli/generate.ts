import { existsSync } from "node:fs";
import { type Command, Option } from "commander";
import { EVAL_TYPE_NAMES, type EvalType } from "../benchmarks/eval-types.js";
import { ErrorCodes, isVlmError, UsageError } from "../errors.js";
import { closeSpecialOutput, openSpecialOutput, outputTarget } from "../output/special-output.js";
import { loadPipeline } from "../pipelines/pipeline.js";
import { createReporter } from "../progress/reporter.js";
import { type GenerateRunOptions, runGenerate } from "../run/generate-run.js";
import { simulatorIdentity } from "../run/run-setup.js";
import { normalizeServerAddress } from "../run/server-address.js";
import { type CliContext, Exit } from "./context.js";
import { collect } from "./flags.js";
import { installInterrupts } from "./interrupt.js";
import { secondsFlag, wholeAtLeast } from "./numeric-flags.js";
import { addSimFlags, type SimFlags, startInProcessSim } from "./sim-in-process.js";

type RunFlags = SimFlags & {
  input_file: string;
  output_file: string;
  model: string;
  server_address?: string[];
  server_type: "vllm" | "sglang" | "openai" | "sim";
  max_concurrent_requests: number;
  data_dir?: string;
  api_key?: string;
  overwrite?: boolean;
  quiet?: boolean;
  progress_seconds: number;
  max_failures: number;
};
type GenerateFlags = RunFlags & { prompt_config: string; eval_type?: EvalType };

/** The flags `generate` and `run` share: input, output, server, concurrency, resume, progress. */
function addRunFlags(cmd: Command): Command {
  cmd
    .requiredOption("--input_file <file>", 'input JSONL, or "-" for stdin')
    .requiredOption("--output_file <file>", 'output JSONL (resumable), or "-" for stdout (completion order)')
    .requiredOption("--model <name>", "model name, as the server serves it")
    .option(
      "--server_address <url>",
      "the server's OpenAI base URL, e.g. http://127.0.0.1:8000/v1 (host:port works too); repeat it to spread requests over several servers",
      collect,
    )
    .addOption(
      new Option("--server_type <type>", "server kind; sim starts the built-in simulator in this process")
        .choices(["vllm", "sglang", "openai", "sim"])
        .default("vllm"),
    )
    .option(
      "--max_concurrent_requests <n>",
      "requests in flight at most",
      wholeAtLeast("--max_concurrent_requests", 1),
      512,
    )
    .option(
      "--data_dir <dir>",
      "folder relative image paths resolve against (default: the input file's folder; cwd for stdin)",
    )
    .option("--api_key <key>", "API key sent as a Bearer token (default: $OPENAI_API_KEY); never written anywhere")
    .option("--overwrite", "discard an existing output and start over", false)
    .option("--quiet", "no progress on stderr", false)
    .option(
      "--progress_seconds <s>",
      "seconds between progress lines on stderr when it is not a terminal",
      secondsFlag("--progress_seconds"),
      30,
    )
    .option(
      "--max_failures <n>",
      "stop cleanly after this many rows fail in a row (0: never)",
      wholeAtLeast("--max_failures", 0),
      100,
    );
  addSimFlags(cmd);
  cmd.addHelpText(
    "after",
    "\nSampling and other settings: ++inference.temperature=0 ++inference.tokens_to_generate=16384 ...\n" +
      "(every key: docs/configuration.md)",
  );
  return cmd;
}

export function registerGenerate(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("generate")
    .description("send every row of a JSONL file to an OpenAI-compatible server and write NDJSON (resumable)")
    .requiredOption(
      "--prompt_config <name|file.yaml>",
      "prompt config: a name under prompts/ (vlm/mmmu-pro) or a .yaml path",
    )
    .addOption(new Option("--eval_type <type>", "extract and score answers as rows finish").choices(EVAL_TYPE_NAMES));
  addRunFlags(cmd).action(async (flags: GenerateFlags) => {
    ctx.exitCode = await runCommand(flags, ctx, { promptConfig: flags.prompt_config, evalType: flags.eval_type });
  });
}

export function registerRun(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("run")
    .description("run a pipeline (pipelines/NAME.yaml or a .yaml path: a list of stages) over a JSONL file, resumable")
    .argument("<pipeline>", "a name under pipelines/ (mmmu-pro) or a path ending in .yaml");
  addRunFlags(cmd).action(async (name: string, flags: RunFlags) => {
    ctx.exitCode = await runCommand(flags, ctx, { pipeline: await loadPipeline(name) });
  });
}

async function runCommand(
  flags: RunFlags,
  ctx: CliContext,
  chain: Pick<GenerateRunOptions, "promptConfig" | "evalType" | "pipeline">,
): Promise<number> {
  const progress = createReporter({
    stream: ctx.stderr,
    quiet: !!flags.quiet,
    intervalSeconds: flags.progress_seconds,
  });
  const log = (l: string) => progress.log(l);
  if (!Number.isInteger(flags.max_concurrent_requests) || flags.max_concurrent_requests < 1) {
    throw new UsageError("--max_concurrent_requests takes a positive whole number");
  }
  if (flags.server_type !== "sim" && !flags.server_address?.length) {
    throw new UsageError("--server_address is required (or --server_type sim for the built-in simulator)");
  }
  // (as eval: the simulator is this process's own server; an address given too would be ignored)
  if (flags.server_type === "sim" && flags.server_address?.length) {
    throw new UsageError("--server_type sim runs the built-in simulator: drop --server_address");
  }
  // The simulator reads its answer book (by default the input file) before the run checks the
  // input: a missing input must be named as such, not as the simulator's answers file.
  if (flags.server_type === "sim" && flags.input_file !== "-" && !existsSync(flags.input_file)) {
    throw new UsageError(`--input_file not found: ${flags.input_file}`);
  }
  // Started by the run once its settings, prompt and output passed their checks: a refused run
  // starts no simulator.
  let sim: Awaited<ReturnType<typeof startInProcessSim>> | undefined;
  const startSim = async () => {
    sim = await startInProcessSim(
      flags.model,
      { ...flags, sim_answers: flags.sim_answers ?? (flags.input_file === "-" ? undefined : flags.input_file) },
      log,
    );
    return `${sim.url}/v1`;
  };
  const signals = ctx.handleSignals ? installInterrupts(log) : undefined;
  let special: Awaited<ReturnType<typeof openSpecialOutput>>;
  try {
    // /dev/null, a FIFO: written as stdout is (no resume), never replaced by a file.
    special = await openSpecialOutput(flags.output_file, signals && AbortSignal.any([signals.stop, signals.abort]));
    const outputFile = special ? "-" : await outputTarget(flags.output_file);
    const result = await runGenerate({
      ...chain,
      inputFile: flags.input_file,
      outputFile,
      model: flags.model,
      serverAddress: flags.server_type === "sim" ? startSim : (flags.server_address ?? []).map(normalizeServerAddress),
      serverType: flags.server_type,
      apiKey: flags.api_key ?? process.env.OPENAI_API_KEY,
      maxConcurrentRequests: flags.max_concurrent_requests,
      overrides: ctx.overrides,
      dataDir: flags.data_dir,
      overwrite: flags.overwrite,
      simulator: flags.server_type === "sim" ? simulatorIdentity(flags) : undefined,
      log,
      progress,
      label: flags.output_file === "-" ? "generate" : flags.output_file,
      stdin: ctx.stdin,
      stdout: special ?? ctx.stdout,
      stop: signals?.stop,
      abort: signals?.abort,
      maxFailures: flags.max_failures,
    });
    if (result.tooManyFailures) return Exit.FAILURE;
    if (result.interrupted) return Exit.INTERRUPTED;
    return result.stats.failed > 0 ? Exit.ROWS_FAILED : Exit.OK;
  } catch (e) {
    // Ctrl-C while a FIFO waited for its reader.
    if (isVlmError(e) && e.code === ErrorCodes.ABORTED && signals?.stop.aborted) return Exit.INTERRUPTED;
    throw e;
  } finally {
    progress.close();
    signals?.dispose();
    await sim?.close();
    await closeSpecialOutput(special);
  }
}
