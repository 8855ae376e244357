import type { GroupMetrics } from "../metrics/types.js";
import type { HistogramBin, Interval, TokenSummary } from "./stats.js";

export type ImageMode = "embed" | "link" | "none";

/**
 * An image of a row as the page shows it: `src` is a JPEG data URL (embed), a URL relative to
 * the report file or an http(s) URL (link); without `src` the page draws a placeholder with
 * `note` (missing file, images off, ...). `label` is the row's reference, as written.
 */
export type ReportImage = { label: string; src?: string; note?: string };

/** The rendered prompt: text pieces and images (an index into the row's `images`), in order. */
export type PromptPart = { text: string } | { image: number };

/** One question (input row), shared by its lines in every run. */
export type ReportRow = {
  id: string | null;
  subject: string | null;
  expected: string | null;
  /** All acceptable answers when the row lists several (`answers`: ChartQA, DocVQA). */
  answers?: string[];
  system?: string;
  prompt: PromptPart[];
  images: ReportImage[];
};

/** One output line: row `row` answered in run `run`. Long texts are clipped (see ReportData.textLimit). */
export type ReportLine = {
  row: number;
  run: number;
  correct: boolean | null;
  predicted: string | null;
  /** A graded per-row score in [0, 1] (DocVQA's `anls`), shown beside the verdict. */
  score?: { name: string; value: number };
  multichoice?: string | null;
  official?: string | null;
  fallback?: boolean;
  /** Both extractors answered and their answers differ (the metrics' extractor_disagreement). */
  disagree?: boolean;
  error?: { code?: string; stage?: string; message: string };
  generation: string;
  reasoning?: string;
  tokens?: number;
  finish?: string;
  seconds?: number;
};

/** Accuracy of one subject (or of the whole benchmark) from the report's own pass over the files. */
export type SubjectStats = {
  name: string;
  questions: number;
  /** Mean accuracy over runs, 0-1 (pass@1, or pass@1[avg-of-k] with several seeds). */
  accuracy: number;
  /** 95% Wilson interval of `accuracy` over the questions, 0-1. */
  ci: Interval;
  /** Each run's accuracy, 0-1, in run order. */
  perRun: number[];
};

export type ReportData = {
  benchmark: string;
  /** ISO time the report was written. */
  created: string;
  model?: string;
  /** `output.jsonl` (greedy) or one entry per seed file, in the order metrics use. */
  runs: { label: string; file: string }[];
  greedy: boolean;
  /** The mode the chart and the headline show: pass@1 or pass@1[avg-of-k]. */
  primaryMode: string;
  /** computeMetrics' result: `_all_` and each subset, modes inside (percentages). */
  metrics: Record<string, GroupMetrics>;
  overall: SubjectStats;
  /** One per subset_for_metrics value, in order of first appearance; [] when rows have none. */
  subjects: SubjectStats[];
  tokens: { bins: HistogramBin[]; summary: TokenSummary | null; truncated: number };
  /** The spec of the first run (model, prompt config, inference), when found. */
  spec?: Record<string, unknown>;
  samples: {
    rows: ReportRow[];
    lines: ReportLine[];
    /** Rows of each file, and how many of them are embedded. */
    totalRows: number;
    embeddedRows: number;
    maxSamples: number;
    textLimit: number;
    images: ImageMode;
    /** Where relative image paths were looked up, when known. */
    dataDir?: string;
  };
};
