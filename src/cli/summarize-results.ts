import { type Command, Option } from "commander";
import { getBenchmark } from "../benchmarks/index.js";
import { UsageError } from "../errors.js";
import { summarizeResults } from "../metrics/summarize-results.js";

/**
 * `summarize_results <results_dir> [--benchmarks a,b] [--save_metrics_path F] [--max_samples N]
 * [--majority_by_answer]`
 */
export function registerSummarizeResults(program: Command): Command {
  return program
    .command("summarize_results")
    .description(
      "compute metrics.json and print the tables for the benchmarks in a results folder (NeMo-Skills' summarize_results)",
    )
    .argument("<results_dir>", "an eval output dir, its eval-results/ folder, or one benchmark folder")
    .option("--benchmarks <list>", "comma-separated benchmark folders to summarize (default: all)")
    .option("--save_metrics_path <file>", "where to write metrics.json (default: <results_dir>/metrics.json)")
    .addOption(new Option("--save-metrics-path <file>").hideHelp())
    .option("--max_samples <n>", "use only the first N rows of each file")
    .addOption(new Option("--max-samples <n>").hideHelp())
    .option(
      "--majority_by_answer",
      "majority@k votes by answer alone (vlmpipe's opt-in; NeMo-Skills votes (answer, verdict) pairs)",
    )
    .addOption(new Option("--majority-by-answer").hideHelp())
    .action(async (resultsDir: string, raw: Record<string, string | boolean | undefined>, cmd: Command) => {
      const list = raw.benchmarks as string | undefined;
      if (list !== undefined && /\s/.test(list.trim()))
        throw new UsageError("--benchmarks takes names separated by commas, without spaces");
      const benchmarks = list
        ?.split(",")
        .map((b) => b.trim())
        .filter((b) => b !== "");
      const maxRaw = (raw.max_samples ?? raw.maxSamples) as string | undefined;
      const maxSamples = maxRaw === undefined ? undefined : Number(maxRaw);
      if (maxSamples !== undefined && !Number.isInteger(maxSamples))
        throw new UsageError(`--max_samples takes an integer, got "${maxRaw}"`);
      const out = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      await summarizeResults(resultsDir, {
        benchmarks,
        saveMetricsPath: (raw.save_metrics_path ?? raw.saveMetricsPath) as string | undefined,
        maxSamples,
        majorityByAnswer: raw.majority_by_answer === true || raw.majorityByAnswer === true,
        groupsOf: (name) => getBenchmark(name)?.metricGroups,
        write: out,
      });
    });
}
