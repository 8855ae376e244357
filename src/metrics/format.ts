import type { GroupMetrics, Metrics, ModeMetrics, OrderedMetrics } from "./types.js";

type Formatter = (key: string, value: number, all: ModeMetrics) => string;

// NeMo-Skills' MathMetrics columns, in its order, then vlmpipe's additions (see ADDITIONS).
const COLUMNS: ReadonlyArray<[string, Formatter]> = [
  ["num_entries", asInt],
  ["avg_tokens", asInt],
  ["gen_seconds", asInt],
  ["judge_correct", asPercentage],
  ["symbolic_correct", asPercentage],
  ["anls", asPercentage],
  ["no_answer", asPercentage],
  ["num_errors", asInt],
  ["extractor_disagreement", asPercentage],
];

/** vlmpipe's columns, which NeMo-Skills does not have; the legend under the tables names them. */
const ADDITIONS: Readonly<Record<string, string>> = {
  anls: "DocVQA's graded score (ANLS), as a percentage, beside exact match's symbolic_correct",
  num_errors: "runs that failed with a vlmpipe error (counted wrong and unanswered)",
  extractor_disagreement: "share of runs where the multichoice and official extractors give different letters",
};

/**
 * The tables NeMo-Skills' summarize_results prints: one per benchmark and subset, headed by its
 * name centred in dashes, columns `evaluation_mode | num_entries | avg_tokens | gen_seconds |
 * symbolic_correct | no_answer | ...`, rows for the highest k only (pass@1[avg-of-k],
 * majority@k, pass@k; or pass@1 for a greedy run), each table followed by two blank lines;
 * then a legend line for each of vlmpipe's own columns that a table shows. Tables come in the
 * order of `metrics` (a Map keeps NeMo-Skills' order; an object lists integer-like names first).
 */
export function formatMetrics(metrics: OrderedMetrics | Metrics): string {
  let out = "";
  const shown = new Set<string>();
  for (const [name, modes] of metrics instanceof Map ? metrics : Object.entries(metrics)) {
    const t = renderTable(name, modes);
    out += t.text;
    for (const c of t.columns) shown.add(c);
  }
  for (const [key, meaning] of Object.entries(ADDITIONS)) {
    if (shown.has(key)) out += `${key}: vlmpipe's addition, not a NeMo-Skills metric: ${meaning}\n`;
  }
  return out;
}

/** One benchmark's (or subset's) table; "" when it has no modes. */
export function formatTable(name: string, modes: GroupMetrics): string {
  return renderTable(name, modes).text;
}

function renderTable(name: string, modes: GroupMetrics): { text: string; columns: string[] } {
  const shown = modesToPrint(modes);
  if (shown.length === 0) return { text: "", columns: [] };
  const widths = new Map<string, number>([["evaluation_mode", "evaluation_mode".length]]);
  let columns = COLUMNS.filter(([key]) => key in modes[shown[0]!]!);
  for (const mode of shown) {
    const m = modes[mode]!;
    columns = columns.filter(([key]) => typeof m[key] === "number");
    for (const [key, fmt] of columns) {
      widths.set(key, Math.max(widths.get(key) ?? key.length, fmt(key, m[key] as number, m).length));
    }
    widths.set("evaluation_mode", Math.max(widths.get("evaluation_mode")!, mode.length));
  }
  let total = 0;
  for (const w of widths.values()) total += w;
  total += (widths.size - 1) * 3;

  const lines = [pyCenter(` ${name} `, total, "-")];
  lines.push(["evaluation_mode", ...columns.map(([k]) => k)].map((h) => h.padEnd(widths.get(h)!)).join(" | "));
  for (const mode of shown) {
    const m = modes[mode]!;
    const cells = [mode.padEnd(widths.get("evaluation_mode")!)];
    for (const [key, fmt] of columns) cells.push(fmt(key, m[key] as number, m).padEnd(widths.get(key)!));
    lines.push(cells.join(" | "));
  }
  return { text: `${lines.join("\n")}\n\n\n`, columns: columns.map(([k]) => k) };
}

/** NeMo-Skills prints only the highest k of each mode family. */
function modesToPrint(modes: GroupMetrics): string[] {
  let k = 0;
  for (const mode of Object.keys(modes)) {
    const m = /^pass@(\d+)$/.exec(mode);
    if (m) k = Math.max(k, Number(m[1]));
  }
  return [`pass@1[avg-of-${k}]`, `majority@${k}`, `pass@${k}`].filter((mode) => mode in modes);
}

function stdOf(key: string, all: ModeMetrics): number | undefined {
  const stats = all[`${key}_statistics`];
  return typeof stats === "object" && typeof stats.std_dev_across_runs === "number"
    ? stats.std_dev_across_runs
    : undefined;
}

function asInt(key: string, value: number, all: ModeMetrics): string {
  const std = stdOf(key, all);
  return std === undefined ? String(Math.trunc(value)) : `${Math.trunc(value)} ± ${pyFixed2(std)}`;
}

function asPercentage(key: string, value: number, all: ModeMetrics): string {
  const std = stdOf(key, all);
  return std === undefined ? `${pyFixed2(value)}%` : `${pyFixed2(value)}% ± ${pyFixed2(100 * std)}%`;
}

/**
 * Python's `f"{x:.2f}"`: like toFixed(2) except on exact binary ties (x * 8 an odd integer),
 * which Python rounds half to even and toFixed away from zero.
 */
export function pyFixed2(x: number): string {
  const eighths = x * 8;
  if (Number.isInteger(eighths) && eighths % 2 !== 0) {
    const a = Math.abs(x) * 100; // exact: n + 0.5
    const lo = Math.floor(a);
    const n = lo % 2 === 0 ? lo : lo + 1;
    const s = (n / 100).toFixed(2);
    return x < 0 && n !== 0 ? `-${s}` : s;
  }
  return x.toFixed(2);
}

/** Python's str.center: the odd pad goes left only when both the pad and the width are odd. */
function pyCenter(s: string, width: number, fill: string): string {
  const marg = width - s.length;
  if (marg <= 0) return s;
  const left = Math.floor(marg / 2) + (marg & width & 1);
  return fill.repeat(left) + s + fill.repeat(marg - left);
}
