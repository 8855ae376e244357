import { Command, CommanderError } from "commander";
import { parseOverrides, splitOverrides } from "../config/overrides.js";
import { isVlmError, UsageError } from "../errors.js";
import { VERSION } from "../version.js";
import { type CliContext, Exit } from "./context.js";
import { normalizeFlags } from "./flags.js";
import { registerEval } from "./eval.js";
import { registerEvalJobs } from "./eval-job.js";
import { registerGenerate, registerRun } from "./generate.js";
import { registerPrepareData } from "./prepare-data.js";
import { registerReport } from "./report.js";
import { registerScore } from "./score.js";
import { registerSimServer } from "./sim-server.js";
import { registerSummarizeResults } from "./summarize-results.js";

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
    ctx.overrides = parseOverrides(overrides);
    const program = buildProgram(ctx);
    await program.parseAsync(normalizeFlags(rest), { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? Exit.OK : Exit.USAGE;
    }
    if (e instanceof UsageError) {
      say(`vlmpipe: ${e.message}`);
      return Exit.USAGE;
    }
    if (isVlmError(e)) {
      say(`vlmpipe: ${e.message}`);
      return Exit.FAILURE;
    }
    say(`vlmpipe: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return Exit.FAILURE;
  }
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("vlmpipe")
    .version(VERSION)
    .description("Evaluate vision-language models behind OpenAI-compatible servers (vLLM), as a stream")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  registerGenerate(program, ctx);
  registerRun(program, ctx);
  registerScore(program, ctx);
  registerEval(program, ctx);
  registerEvalJobs(program, ctx);
  registerPrepareData(program, ctx);
  registerSummarizeResults(program);
  registerReport(program);
  registerSimServer(program);
  // Every subcommand reports usage errors the same way (exit 2, message on stderr).
  for (const c of program.commands) c.exitOverride().showHelpAfterError();
  return program;
}
