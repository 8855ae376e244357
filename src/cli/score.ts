import { rename, rm } from "node:fs/promises";
import { type Command, Option } from "commander";
import { lastValueFrom, map, tap } from "rxjs";
import { EVAL_TYPE_NAMES, type EvalType } from "../benchmarks/eval-types.js";
import { parseGenerationConfig } from "../config/generation-config.js";
import { UsageError } from "../errors.js";
import { Flow } from "../operators/flow.js";
import { readRows } from "../operators/read-rows.js";
import { requireFields } from "../operators/require-fields.js";
import { writeLines } from "../operators/write-output.js";
import { formatLine, isRunError } from "../output/async-lines.js";
import { exists } from "../output/partial-output.js";
import { rowText } from "../output/row-source.js";
import { fileSink, type LineSink, streamSink } from "../output/sinks.js";
import { closeSpecialOutput, openSpecialOutput, outputTarget } from "../output/special-output.js";
import { offlineContext } from "../pipelines/offline-context.js";
import { buildPipeline, scoringPipeline } from "../pipelines/pipeline.js";
import type { Sample } from "../types.js";
import { type CliContext, Exit } from "./context.js";
import { jsonArrayInput } from "./json-array-input.js";

type ScoreFlags = {
  input_file: string;
  output_file: string;
  eval_type: EvalType;
  generation_key: string;
  expected_answer_key: string;
};

export function registerScore(program: Command, ctx: CliContext): void {
  program
    .command("score")
    .description("extract answers from existing generations and score them, without calling a model (streaming)")
    .requiredOption("--input_file <file>", 'JSONL with generations (vlmpipe, NeMo-Skills or any), or "-" for stdin')
    .requiredOption("--output_file <file>", 'where to write the scored rows, or "-" for stdout')
    .addOption(new Option("--eval_type <type>", "answer extractor").choices(EVAL_TYPE_NAMES).default("multichoice"))
    .option("--generation_key <key>", "field holding the model's text", "generation")
    .option(
      "--expected_answer_key <key>",
      "field holding the right answer (copied into expected_answer)",
      "expected_answer",
    )
    .addHelpText(
      "after",
      "\nOverrides: ++max_samples=N (only the first N rows), ++eval_config.seed=42 (official parser's fallback),\n" +
        "++parse_reasoning=True ++end_reasoning_string='</think>',\n" +
        "NeMo-Skills' ++eval_config.extract_from_boxed / extract_regex / relaxed, and vlmpipe's opt-ins\n" +
        "++eval_config.answer_line_first=true, ++eval_config.normalize_expected_answer=true (see docs/fidelity.md)",
    )
    .action(async (flags: ScoreFlags) => {
      ctx.exitCode = await scoreCommand(flags, ctx);
    });
}

async function scoreCommand(flags: ScoreFlags, ctx: CliContext): Promise<number> {
  const config = parseGenerationConfig(ctx.overrides);
  // The stages that follow generation in `generate`'s chain, from the same registry.
  const stages = buildPipeline(await scoringPipeline(flags.eval_type), offlineContext(config));
  const fromStdin = flags.input_file === "-";
  if (!fromStdin && !(await exists(flags.input_file)))
    throw new UsageError(`--input_file not found: ${flags.input_file}`);
  // /dev/null, a FIFO: written as stdout is, never replaced by the file renamed over it.
  const special = await openSpecialOutput(flags.output_file);
  const toStdout = flags.output_file === "-" || special !== undefined;
  // Through a symbolic link: the file it points to is replaced, not the link.
  const outputFile = toStdout ? flags.output_file : await outputTarget(flags.output_file);
  const tmp = `${outputFile}.tmp-${process.pid}`;
  const sink: LineSink = toStdout ? streamSink(special ?? ctx.stdout) : await fileSink(tmp);
  const tally = {
    rows: 0,
    correct: 0,
    noAnswer: 0,
    disagree: 0,
    both: 0,
    fallback: 0,
    failed: 0,
    graded: 0,
    anlsSum: 0,
  };
  // A JSON array of rows (the MMMU authors' output files) is read as if it were JSONL.
  const array = fromStdin ? null : await jsonArrayInput(flags.input_file);

  // The flow keeps memory flat on million-row files: rows are read only as lines are written.
  const flow = new Flow(1024);
  const fields = [
    { flag: "--generation_key", key: flags.generation_key },
    { flag: "--expected_answer_key", key: flags.expected_answer_key },
  ];
  await lastValueFrom(
    // (adaptFields replaces rows whose answer is under another key: no line to keep then.)
    readRows(fromStdin ? ctx.stdin : (array ?? flags.input_file), {
      flow,
      keepSource: !answerElsewhere(flags),
      // The first N rows, as generate takes them (0 or less: all).
      maxSamples: config.max_samples,
    }).pipe(
      requireFields(fields),
      adaptFields(flags),
      stages,
      tap((s) => count(tally, s)),
      // Not concatMap: the sink keeps lines in call order and joins those that arrive while a
      // write is under way into one write, while concatMap waited for each line's write
      // before the next: one syscall per row, a quarter of the time on 1M rows.
      writeLines(sink, scoredLine),
      flow.releaseEach<Sample>(),
    ),
    { defaultValue: undefined },
  ).catch(async (e: unknown) => {
    await sink.close();
    await closeSpecialOutput(special);
    if (!toStdout) await rm(tmp, { force: true });
    throw e;
  });
  await sink.close();
  await closeSpecialOutput(special);
  if (!toStdout) await rename(tmp, outputFile);
  const pct = (n: number, d: number) => (d ? ((100 * n) / d).toFixed(2) : "0.00");
  ctx.stderr.write(
    `vlmpipe score: ${tally.rows} rows, symbolic_correct ${pct(tally.correct, tally.rows)}% (${tally.correct}), ` +
      // DocVQA's graded score, as summarize_results reports it: the mean over all rows.
      (tally.graded ? `anls ${pct(tally.anlsSum, tally.rows)}%, ` : "") +
      `no_answer ${pct(tally.noAnswer, tally.rows)}%` +
      (tally.both
        ? `, extractors disagree on ${tally.disagree}/${tally.both} rows (${pct(tally.disagree, tally.both)}%)`
        : "") +
      (tally.fallback ? `, official parser guessed ${tally.fallback} rows (random fallback)` : "") +
      (tally.failed ? `, ${tally.failed} rows failed` : "") +
      "\n",
  );
  return tally.failed ? Exit.ROWS_FAILED : Exit.OK;
}

/** The expected answer is read from a field other than expected_answer (the row is then copied). */
function answerElsewhere(flags: ScoreFlags): boolean {
  return flags.expected_answer_key !== "expected_answer";
}

/** Reads the generation and the expected answer from the fields the user names. */
function adaptFields(flags: ScoreFlags) {
  return map((s: Sample): Sample => {
    if (s.error) return s;
    const out = { ...s.out };
    if (flags.generation_key !== "generation" && flags.generation_key in s.row)
      out.generation = s.row[flags.generation_key];
    const row =
      answerElsewhere(flags) && flags.expected_answer_key in s.row
        ? { ...s.row, expected_answer: s.row[flags.expected_answer_key] }
        : s.row;
    return { ...s, row, out };
  });
}

/** Stages whose failure an earlier `score` (or generate --eval_type) recorded: this run's verdict replaces it. */
const SCORING_STAGES: ReadonlySet<unknown> = new Set(["extractAnswer", "score"]);

/** What a scoring writes: an earlier scoring's, met on a re-scored row, must not outlive this one's. */
const SCORING_FIELDS = [
  "predicted_answer",
  "symbolic_correct",
  "anls",
  "predicted_answer_multichoice",
  "predicted_answer_official",
  "official_random_fallback",
] as const;

function scoredLine(s: Sample): string {
  const staleError = isRunError(s.row.error) && SCORING_STAGES.has((s.row.error as { stage: unknown }).stage);
  // A row scored before keeps none of that scoring's fields this one does not write again (all of
  // them when this run cannot score the row): a multichoice re-scoring left an old `anls` behind.
  const stale = SCORING_FIELDS.filter((k) => k in s.row && (s.error !== undefined || !(k in s.out)));
  if (!staleError && stale.length === 0) return formatLine(s.row, s.out, s.error, rowText(s));
  const row = { ...s.row };
  if (staleError) delete row.error;
  for (const k of stale) delete row[k];
  return formatLine(row, s.out, s.error);
}

function count(t: Record<string, number>, s: Sample): void {
  t.rows = (t.rows ?? 0) + 1;
  if (s.error) {
    t.failed = (t.failed ?? 0) + 1;
    return;
  }
  if (s.out.symbolic_correct === true) t.correct = (t.correct ?? 0) + 1;
  if (typeof s.out.anls === "number") {
    t.graded = (t.graded ?? 0) + 1;
    t.anlsSum = (t.anlsSum ?? 0) + s.out.anls;
  }
  if (s.out.predicted_answer === null || s.out.predicted_answer === undefined) t.noAnswer = (t.noAnswer ?? 0) + 1;
  if (s.out.official_random_fallback === true) t.fallback = (t.fallback ?? 0) + 1;
  const a = s.out.predicted_answer_multichoice;
  const b = s.out.predicted_answer_official;
  if (a !== undefined && b !== undefined && a !== null && b !== null) {
    t.both = (t.both ?? 0) + 1;
    if (a !== b) t.disagree = (t.disagree ?? 0) + 1;
  }
}
