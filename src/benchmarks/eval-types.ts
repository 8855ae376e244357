import { ErrorCodes, VlmError } from "../errors.js";
import { relaxedAccuracyAnswerLine, relaxedAccuracyWholeReply } from "./chartqa/eval-type.js";
import { anlsAnswerLine, anlsWholeReply } from "./docvqa/eval-type.js";
import { DEFAULT_MULTICHOICE, extractMultichoice, type MultichoiceSettings } from "./extractors/multichoice.js";
import { rowSettings } from "./extractors/multichoice-settings.js";
import { mmmuOfficial } from "./mmmu/eval-type.js";
import { parseOfficial, rowRng } from "./mmmu-pro/official-parser.js";

/** What an eval type's extractor sees of one row. */
export type AnswerInput = {
  /** The text to parse; null when there is none or the reasoning never ended (no answer). */
  text: string | null;
  row: Record<string, unknown>;
  /** `row.options` as a list (JSON or a Python-style list string), or null. */
  options: string[] | null;
  /** The row's key for per-row randomness: its id, else its index. */
  key: string;
  /** `++eval_config.seed`. */
  seed: number;
  /** The multichoice extractor's run-wide settings (`++eval_config.*`); the row's own keys win. */
  multichoice?: MultichoiceSettings;
};

export type Extracted = {
  /** `predicted_answer` (null: no answer); a list for a parse that keeps several (MMMU's open answers). */
  answer: string | readonly (string | number)[] | null;
  /** More fields for the row's output, written before `predicted_answer`. */
  fields?: Record<string, unknown>;
  /**
   * The eval type's own verdict, written after `predicted_answer` (`symbolic_correct`, a graded
   * score such as `anls`): score() keeps a symbolic_correct set here.
   */
  verdict?: Record<string, unknown>;
};

export type EvalTypeDef = {
  description: string;
  /** Why this row cannot be scored (recorded as VLM_E_DATA on the row), or undefined. */
  refuse?(input: AnswerInput): string | undefined;
  /** May throw a VlmError with a code: the row is recorded as failed with it (e.g. a row's bad regex). */
  extract(input: AnswerInput): Extracted;
};

/**
 * Every eval type, by the name `--eval_type`, `extractAnswer({ evalType })` and pipelines use.
 * Adding one is one entry here: `--eval_type`'s choices, the pipeline option's schema and the
 * benchmark registry's type all follow from this record.
 */
export const EVAL_TYPES = {
  multichoice: {
    description: "NeMo-Skills' multichoice extractor (the last 'Answer: X', boxed letters, ...)",
    extract: (input) => withOptionAnswers(input, "multichoice"),
  },
  "mmmu-pro-official": {
    description: "the MMMU-Pro authors' parser, with its random fallback (seeded per row)",
    refuse: (input) =>
      input.options?.length
        ? undefined
        : "eval_type mmmu-pro-official needs the row's options (a list, or a Python-style list string)",
    extract: (input) => withOptionAnswers(input, "official"),
  },
  // Eval types that judge by their benchmark authors' rules, from the benchmarks' folders.
  "mmmu-official": mmmuOfficial,
  "relaxed-accuracy": relaxedAccuracyWholeReply,
  "relaxed-accuracy-answer-line": relaxedAccuracyAnswerLine,
  anls: anlsWholeReply,
  "anls-answer-line": anlsAnswerLine,
} as const satisfies Record<string, EvalTypeDef>;

export type EvalType = keyof typeof EVAL_TYPES;

/** The names, for commander's choices and zod's enum. */
export const EVAL_TYPE_NAMES = Object.keys(EVAL_TYPES) as [EvalType, ...EvalType[]];

/**
 * A row with options gets both extractors' answers (`predicted_answer_multichoice`,
 * `predicted_answer_official`, and `official_random_fallback` when the official parser guessed),
 * whichever of them is the eval type's answer.
 */
function withOptionAnswers(input: AnswerInput, pick: "multichoice" | "official"): Extracted {
  let multichoice: string | null = null;
  if (input.text !== null) {
    try {
      multichoice = extractMultichoice(input.text, rowSettings(input.row, input.multichoice ?? DEFAULT_MULTICHOICE));
    } catch (e) {
      // NeMo-Skills raises on a row's unusable extract_regex: a failed row for multichoice; for the
      // official parser only the cross-check is lost.
      if (pick === "multichoice") throw new VlmError(ErrorCodes.DATA, (e as Error).message);
    }
  }
  if (!input.options?.length) return { answer: pick === "multichoice" ? multichoice : null };
  const fields: Record<string, unknown> = {};
  let official: string | null = null;
  if (input.text !== null) {
    const parsed = parseOfficial(input.text, input.options, rowRng(input.seed, input.key, input.text));
    official = parsed.answer;
    // false only over a stale flag the re-scored row carries
    if (parsed.fallback || "official_random_fallback" in input.row) fields.official_random_fallback = parsed.fallback;
  }
  fields.predicted_answer_multichoice = multichoice;
  fields.predicted_answer_official = official;
  return { answer: pick === "multichoice" ? multichoice : official, fields };
}
