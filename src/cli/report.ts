import { existsSync } from "node:fs";
import { type Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { benchmarkOutputs, locateBenchmarks } from "../metrics/locate.js";
import { writeReport } from "../report/write-report.js";

type ReportFlags = { data_dir?: string; images?: string; output?: string; max_samples?: string };

/**
 * `report <benchmark_dir> [--data_dir D] [--images embed|link|none] [--output F] [--max_samples N]`:
 * writes report.html for one benchmark folder and prints its path. Given an eval output dir or
 * its eval-results/ folder instead, writes one report per benchmark in it.
 */
export function registerReport(program: Command): Command {
  return program
    .command("report")
    .description(
      "write report.html (metrics, accuracy per subject, tokens, a sample browser) for a benchmark's outputs",
    )
    .argument(
      "<benchmark_dir>",
      "a benchmark folder (O/eval-results/mmmu-pro), or an eval output dir for every benchmark in it",
    )
    .option(
      "--data_dir <dir>",
      "the folder the rows' image paths are relative to (default: the folder of the run's input file)",
    )
    .addOption(
      new Option("--images <mode>", "embed thumbnails, link to the image files, or none")
        .choices(["embed", "link", "none"])
        .default("embed"),
    )
    .option("--output <file>", "where to write the report (default: <benchmark_dir>/report.html)")
    .option("--max_samples <n>", "questions of each output file in the sample browser (-1: all)", "2000")
    .addOption(new Option("--data-dir <dir>").hideHelp())
    .addOption(new Option("--max-samples <n>").hideHelp())
    .action(async (dir: string, raw: ReportFlags & { dataDir?: string; maxSamples?: string }, cmd: Command) => {
      const maxRaw = raw.maxSamples ?? raw.max_samples ?? "2000";
      const maxSamples = Number(maxRaw);
      if (!Number.isInteger(maxSamples) || maxSamples < -1)
        throw new UsageError(`--max_samples takes a whole number (-1: all), got "${maxRaw}"`);
      const dataDir = raw.dataDir ?? raw.data_dir;
      const dirs = benchmarkDirs(dir);
      if (dirs.length > 1 && raw.output !== undefined)
        throw new UsageError(
          `${dir} holds ${dirs.length} benchmarks: --output names one file; give one benchmark folder`,
        );
      const write = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      for (const d of dirs) {
        const file = await writeReport(d, {
          dataDir,
          images: raw.images as "embed" | "link" | "none",
          out: raw.output,
          maxSamples,
        });
        write(`${file}\n`);
      }
    });
}

/** The folder itself when it holds outputs, else each benchmark under it (as summarize_results finds them). */
function benchmarkDirs(dir: string): string[] {
  if (!existsSync(dir)) throw new UsageError(`benchmark folder not found: ${dir}`);
  try {
    return [benchmarkOutputs(dir).dir];
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    const { benchmarks } = locateBenchmarks(dir);
    if (benchmarks.length === 0) throw e;
    return benchmarks.map((b) => b.dir);
  }
}
