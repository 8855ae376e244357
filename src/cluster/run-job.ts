import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { ProgressReporter } from "../progress/reporter.js";
import { runGenerate } from "../run/generate-run.js";
import { jobRunOptions } from "./job-options.js";
import { describeJob, type EvalJob, type EvalPlan } from "./plan.js";

export type JobIo = {
  /** OpenAI base URLs the job's requests are spread over. */
  serverAddresses: string[];
  apiKey?: string;
  log?: (line: string) => void;
  /** Live progress of the job (bars, status lines); default: periodic log lines. */
  progress?: ProgressReporter;
  stop?: AbortSignal;
  abort?: AbortSignal;
};

export type JobOutcome = {
  job: EvalJob;
  /** Every row has its line and the output is finalized (some rows may have failed). */
  complete: boolean;
  interrupted: boolean;
  failedRows: number;
};

/**
 * One job of an eval in this process: a resumable generate of the job's rows (all of the
 * input, or its chunk) with the benchmark's prompt config, extractor and the seed's sampling
 * settings, logged to `<output_dir>/eval-logs/<benchmark>-<output>.log` and to `log`.
 */
export async function runJob(plan: EvalPlan, job: EvalJob, io: JobIo): Promise<JobOutcome> {
  const log = io.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const s = plan.settings;
  await mkdir(path.dirname(job.logFile), { recursive: true });
  const logFile = createWriteStream(job.logFile, { flags: "a" });
  const tee = (l: string) => {
    logFile.write(`${new Date().toISOString()} ${l}\n`);
    log(l);
  };
  try {
    tee(`vlmpipe eval: ${describeJob(job)} -> ${job.outputFile}`);
    const result = await runGenerate({
      ...jobRunOptions(plan, job),
      serverAddress: io.serverAddresses.length === 1 ? (io.serverAddresses[0] as string) : io.serverAddresses,
      apiKey: io.apiKey,
      overwrite: s.rerunDone,
      log: tee,
      progressSeconds: s.progressSeconds,
      maxFailures: s.maxFailures,
      progress: io.progress,
      label: describeJob(job),
      stop: io.stop,
      abort: io.abort,
    });
    // Neither complete nor interrupted: stopped after too many failed rows in a row.
    return { job, complete: result.complete, interrupted: result.interrupted, failedRows: result.stats.failed };
  } finally {
    await new Promise((r) => logFile.end(r));
  }
}
