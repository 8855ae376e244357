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

/**
 * One subject (a subset_for_metrics value), one of the benchmark's metric groups (MMMU's
 * disciplines) or the whole benchmark, with its headline score from the metrics.
 */
export type SubjectStats = {
  /** Its key in `metrics` (the subset's name as computeMetrics names it); the benchmark's for the whole. */
  name: string;
  /** One of the benchmark's metric groups (MMMU's disciplines), not a subset of its own. */
  group?: boolean;
  /** num_entries of the metrics. */
  questions: number;
  /** The headline score (ReportData.score) of the primary mode as the metrics have it (a percentage); null when they lack it. */
  score: number | null;
  /** `score` as a fraction, 0-1, for the chart and the interval. */
  accuracy: number | null;
  /** 95% Wilson interval of `accuracy` over the questions, 0-1; null with `accuracy`. */
  ci: Interval | null;
  /** Each run's mean headline score, 0-1, in run order (the report's own pass over the files). */
  perRun: number[];
};

/** The score the tiles, the chart and the subject table lead with: a metrics key and its name for people. */
export type HeadlineScore = { key: "anls" | "symbolic_correct"; label: string };

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
  /** ANLS when the metrics have `anls` (DocVQA), else exact match (symbolic_correct). */
  score: HeadlineScore;
  /** computeMetrics' result: `_all_` and each subset, modes inside (percentages). */
  metrics: Record<string, GroupMetrics>;
  overall: SubjectStats;
  /**
   * One per subset_for_metrics value, in the metrics' order (first appearance), then the
   * benchmark's metric groups; [] when rows have none.
   */
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
