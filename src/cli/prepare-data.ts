/**
 * `vlmpipe prepare_data <benchmark>`: download a benchmark from the Hugging Face hub and
 * write it as NeMo-Skills does (`<data_dir>/<folder>/<split>.jsonl` + images/).
 * Progress and the summary go to stderr; stdout stays empty. Ctrl-C stops at once: partial
 * downloads resume on the next run and a split file is only ever written whole.
 */
import { type Command, Option } from "commander";
import { getPreparer, PREPARERS } from "../benchmarks/index.js";
import { ErrorCodes, isVlmError, UsageError } from "../errors.js";
import { DEFAULT_HUB_URL } from "../hub/config.js";
import { type CliContext, Exit } from "./context.js";
import { installInterrupts } from "./interrupt.js";

export type PrepareDataFlags = {
  data_dir?: string;
  config?: string;
  revision: string;
  repo?: string;
  cache_dir?: string;
  hub_url?: string;
  progress_seconds: number;
};

export const KNOWN_BENCHMARKS = Object.keys(PREPARERS);

export function registerPrepareData(program: Command, ctx: Partial<CliContext> = {}): Command {
  return program
    .command("prepare_data")
    .description(
      "download a benchmark from the Hugging Face hub and write <data_dir>/<folder>/<split>.jsonl + images/ (e.g. mmmu-pro/test.jsonl)",
    )
    .argument("<benchmark>", `benchmark to prepare: ${KNOWN_BENCHMARKS.join(", ")}`)
    .addOption(
      new Option(
        "--data_dir <dir>",
        "folder the benchmark folders go in; required unless $NEMO_SKILLS_DATA_DIR is set",
      ).default(process.env.NEMO_SKILLS_DATA_DIR || undefined, "$NEMO_SKILLS_DATA_DIR"),
    )
    .option(
      "--config <name>",
      `what to prepare (default: the benchmark's first): ${Object.values(PREPARERS)
        .map((p) => `${p.name}: ${p.describe}`)
        .join("; ")}`,
    )
    .option("--revision <rev>", "dataset revision: branch, tag or commit", "main")
    .option(
      "--repo <owner/name>",
      `dataset repo on the hub (default: ${Object.values(PREPARERS)
        .map((p) => `${p.name}: ${p.repo}`)
        .join(", ")})`,
    )
    .option(
      "--cache_dir <dir>",
      "where parquet shards are downloaded and kept for reruns (default: <data_dir>/.hub-cache)",
    )
    .option(
      "--hub_url <url>",
      `hub base URL (default: $HF_ENDPOINT or ${DEFAULT_HUB_URL}); the token is read from $HF_TOKEN`,
    )
    .option("--progress_seconds <s>", "seconds between download progress lines on stderr", parseSeconds, 2)
    .action(async (benchmark: string, flags: PrepareDataFlags) => {
      ctx.exitCode = await prepareDataCommand(benchmark, flags, ctx);
    });
}

export async function prepareDataCommand(
  benchmark: string,
  flags: PrepareDataFlags,
  ctx: Partial<CliContext> = {},
): Promise<number> {
  const stderr = ctx.stderr ?? process.stderr;
  const log = (l: string) => void stderr.write(`${l}\n`);
  const prepare = getPreparer(benchmark);
  if (!prepare) {
    throw new UsageError(`prepare_data: unknown benchmark "${benchmark}"; known: ${KNOWN_BENCHMARKS.join(", ")}`);
  }
  if (!flags.data_dir) throw new UsageError("prepare_data: --data_dir is required (or set NEMO_SKILLS_DATA_DIR)");
  const signals = ctx.handleSignals ? installInterrupts(log) : undefined;
  try {
    const config = flags.config ?? prepare.configs[0];
    if (!prepare.configs.includes(config)) {
      throw new UsageError(
        `prepare_data ${benchmark}: --config "${config}" is not one of ${prepare.configs.join(", ")}`,
      );
    }
    await prepare.prepare({
      dataDir: flags.data_dir,
      config,
      revision: flags.revision,
      repo: flags.repo ?? prepare.repo,
      cacheDir: flags.cache_dir,
      hubUrl: flags.hub_url,
      progressIntervalMs: flags.progress_seconds * 1000,
      log,
      signal: signals?.stop,
    });
    return Exit.OK;
  } catch (e) {
    if (isVlmError(e) && e.code === ErrorCodes.ABORTED) {
      log("vlmpipe: prepare_data stopped; run the same command again to resume the download");
      return Exit.INTERRUPTED;
    }
    throw e;
  } finally {
    signals?.dispose();
  }
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--progress_seconds takes a number of seconds, got "${v}"`);
  return n;
}
