/**
 * metrics.json as NeMo-Skills writes it: `{ "<benchmark>[-<subset>]": { "<mode>": { metric: value } } }`.
 * Modes: `pass@1` (greedy), or `pass@k`, `pass@1[avg-of-k]`, `majority@k` for every k up to the
 * number of runs. Values: counts as integers, rates as percentages (0-100), and for
 * `pass@1[avg-of-k]` a `<score>_statistics` object with fractions (NeMo-Skills' variance keys).
 */
export type ModeMetrics = Record<string, number | Record<string, number>>;

/** One benchmark or subset: evaluation mode -> metrics. */
export type GroupMetrics = Record<string, ModeMetrics>;

/** Benchmark (and `<benchmark>-<subset>`) -> its modes. */
export type Metrics = Record<string, GroupMetrics>;

/** The key of the whole benchmark among subsets, as NeMo-Skills names it. */
export const ALL_SUBSETS = "_all_";

/**
 * metrics.json in NeMo-Skills' order (its dicts keep insertion order; a JavaScript object would list
 * integer-like names such as a subset "3" first).
 */
export type OrderedMetrics = Map<string, GroupMetrics>;

/**
 * The metrics NeMo-Skills computes as Python ints (metrics.json writes them without `.0`); every
 * other number is a float. `num_errors` is vlmpipe's count.
 */
export const INT_METRICS: ReadonlySet<string> = new Set([
  "num_entries",
  "avg_tokens",
  "gen_seconds",
  "num_errors",
  "num_benchmarks_in_group",
]);
