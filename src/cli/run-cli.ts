import { Command, CommanderError, Option } from "commander";
import { overrideTypo } from "../config/override-typos.js";
import { parseOverrides, splitOverrides } from "../config/overrides.js";
import { isVlmError, UsageError } from "../errors.js";
import { ReaderGoneError } from "../output/sinks.js";
import { VERSION } from "../version.js";
import { type CliContext, Exit } from "./context.js";
import { normalizeFlags } from "./flags.js";

export type CliIo = Partial<Pick<CliContext, "stdin" | "stdout" | "stderr" | "handleSignals">>;

/** Runs the CLI in this process and returns its exit code (the bin calls process.exit with it). */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const ctx: CliContext = {
    overrides: {},
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    exitCode: Exit.OK,
    handleSignals: io.handleSignals ?? false,
  };
  const say = (l: string) => ctx.stderr.write(`${l}\n`);
  try {
    const { overrides, rest } = splitOverrides(argv);
    const args = normalizeFlags(rest);
    const command = commandOf(args);
    refuseOverrides(command, overrides);
    ctx.overrides = parseOverrides(overrides);
    const typo = await overrideTypo(rest);
    if (typo) throw new UsageError(typo);
    const program = await buildProgram(ctx, { command });
    await program.parseAsync(args, { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? Exit.OK : Exit.USAGE;
    }
    // `vlmpipe ... | head`: the reader has what it wanted; nothing to say on stderr.
    if (e instanceof ReaderGoneError || (e as { code?: unknown })?.code === "EPIPE") return Exit.BROKEN_PIPE;
    if (e instanceof UsageError) {
      say(`vlmpipe: ${e.message}`);
      return Exit.USAGE;
    }
    if (isVlmError(e)) {
      say(`vlmpipe: ${e.message}`);
      return Exit.FAILURE;
    }
    // A stack is for a real bug, and only when asked for (--debug).
    const err = e instanceof Error ? e : new Error(String(e));
    if (argv.includes("--debug")) say(`vlmpipe: internal error: ${err.stack ?? err.message}`);
    else say(`vlmpipe: internal error: ${err.message} (rerun with --debug for the stack)`);
    return Exit.FAILURE;
  }
}

/**
 * `++key=value` given to a command that has no such settings (summarize_results, report,
 * prepare_data, sim-server take flags only) is refused: ignored, it looked applied.
 */
function refuseOverrides(command: string | undefined, overrides: readonly string[]): void {
  const spec = COMMANDS.find((c) => c.name === command);
  if (!spec || spec.overrides || overrides.length === 0) return;
  throw new UsageError(
    `${spec.name} takes no ++ overrides (got ${overrides.join(" ")}): its settings are flags, see vlmpipe ${spec.name} --help`,
  );
}

/**
 * The commands, in the order help lists them. Each command's module (and what it imports:
 * zod, rxjs, undici, sharp, the simulator, the hub client...) is loaded only when that command
 * runs: loading them all took ~0.4 s, most of a resume's start-up. The others are registered
 * as they appear in the help listing (test/cli/commands.test.ts checks that this table matches
 * the full definitions).
 */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "generate",
    overrides: true,
    module: "generate",
    description: "send every row of a JSONL file to an OpenAI-compatible server and write NDJSON (resumable)",
    register: async (p, ctx) => (await import("./generate.js")).registerGenerate(p, ctx),
  },
  {
    name: "run",
    overrides: true,
    module: "generate",
    args: ["<pipeline>"],
    description: "run a pipeline (pipelines/NAME.yaml or a .yaml path: a list of stages) over a JSONL file, resumable",
    register: async (p, ctx) => (await import("./generate.js")).registerRun(p, ctx),
  },
  {
    name: "score",
    overrides: true,
    module: "score",
    description: "extract answers from existing generations and score them, without calling a model (streaming)",
    register: async (p, ctx) => (await import("./score.js")).registerScore(p, ctx),
  },
  {
    name: "eval",
    overrides: true,
    module: "eval",
    description: "run benchmarks end to end: generate (resumable), extract, score, metrics.json and tables",
    register: async (p, ctx) => (await import("./eval.js")).registerEval(p, ctx),
  },
  {
    name: "eval_job",
    overrides: true,
    module: "eval-job",
    hidden: true,
    description: "run one job of an eval (used by eval's executors)",
    // (registers eval_merge too)
    register: async (p, ctx) => (await import("./eval-job.js")).registerEvalJobs(p, ctx),
  },
  {
    name: "eval_merge",
    overrides: true,
    module: "eval-job",
    hidden: true,
    description: "merge an eval's finished chunks and write its metrics (used by eval's executors)",
    register: async () => undefined, // registered by eval_job's
  },
  {
    name: "prepare_data",
    module: "prepare-data",
    args: ["<benchmark>"],
    description:
      "download a benchmark from the Hugging Face hub and write <data_dir>/<folder>/<split>.jsonl + images/ (e.g. mmmu-pro/test.jsonl)",
    register: async (p, ctx) => (await import("./prepare-data.js")).registerPrepareData(p, ctx),
  },
  {
    name: "summarize_results",
    module: "summarize-results",
    args: ["<results_dir>"],
    description:
      "compute metrics.json and print the tables for the benchmarks in a results folder (NeMo-Skills' summarize_results)",
    register: async (p) => (await import("./summarize-results.js")).registerSummarizeResults(p),
  },
  {
    name: "report",
    module: "report",
    args: ["<benchmark_dir>"],
    description:
      "write report.html (metrics, accuracy per subject, tokens, a sample browser) for a benchmark's outputs",
    register: async (p) => (await import("./report.js")).registerReport(p),
  },
  {
    name: "sim-server",
    module: "sim-server",
    description:
      "simulate a vLLM OpenAI-compatible server (request checks, answer formats, known accuracy, injected faults) for tests, demos and dry runs",
    register: async (p) => (await import("./sim-server.js")).registerSimServer(p),
  },
];

export type CommandSpec = {
  name: string;
  /** The module (src/cli/<module>.ts) that defines it. */
  module: string;
  description: string;
  /** Its arguments as help lists them. */
  args?: string[];
  hidden?: boolean;
  /** It takes `++key=value` overrides (the generation settings); the others refuse them. */
  overrides?: boolean;
  /** Loads the command's module and registers the command with its options and action. */
  register: (program: Command, ctx: CliContext) => Promise<unknown>;
};

/** The command the arguments run (`help <command>` shows that command's help), if any. */
export function commandOf(args: readonly string[]): string | undefined {
  const i = args.findIndex((a) => !a.startsWith("-"));
  if (i < 0) return undefined;
  return args[i] === "help" ? args[i + 1] : args[i];
}

/**
 * The CLI. With `run`, only the command to run (and the others of its module) is fully
 * defined, the rest are listed by name only: run that command and nothing else with it.
 */
export async function buildProgram(ctx: CliContext, run?: { command: string | undefined }): Promise<Command> {
  const program = new Command("vlmpipe")
    .version(VERSION)
    .description("Evaluate vision-language models behind OpenAI-compatible servers (vLLM), as a stream")
    .option("--debug", "show the stack of an internal error")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  // The module of the command to run is loaded anyway: all its commands get their definition.
  const module = run && COMMANDS.find((c) => c.name === run.command)?.module;
  for (const spec of COMMANDS) {
    if (!run || spec.module === module) await spec.register(program, ctx);
    else listOnly(program, spec);
  }
  // Every subcommand reports usage errors the same way (exit 2, message on stderr).
  for (const c of program.commands) c.exitOverride().showHelpAfterError();
  return program;
}

/** A command as the help listing shows it, for a run of another command. */
function listOnly(program: Command, spec: CommandSpec): void {
  const cmd = program.command(spec.name, { hidden: spec.hidden }).description(spec.description);
  for (const a of spec.args ?? []) cmd.argument(a);
  // Every command has options: the listing says "[options]" when a command has one.
  cmd.addOption(new Option("--options").hideHelp());
}
