import { pyFixed2 } from "../metrics/format.js";
import { ALL_SUBSETS, type GroupMetrics, type ModeMetrics } from "../metrics/types.js";
import { escapeHtml as esc, pct } from "./text.js";
import type { ReportData, SubjectStats } from "./types.js";

// summarize_results' columns, in its order (src/metrics/format.ts).
const COLUMNS: ReadonlyArray<[key: string, kind: "int" | "pct"]> = [
  ["num_entries", "int"],
  ["avg_tokens", "int"],
  ["gen_seconds", "int"],
  ["judge_correct", "pct"],
  ["symbolic_correct", "pct"],
  ["anls", "pct"],
  ["no_answer", "pct"],
  ["num_errors", "int"],
  ["extractor_disagreement", "pct"],
];

/** The modes summarize_results prints: the highest k of each family (or pass@1 for a greedy run). */
export function headlineModes(modes: GroupMetrics): string[] {
  let k = 0;
  for (const mode of Object.keys(modes)) {
    const m = /^pass@(\d+)$/.exec(mode);
    if (m) k = Math.max(k, Number(m[1]));
  }
  return [`pass@1[avg-of-${k}]`, `majority@${k}`, `pass@${k}`].filter((mode) => mode in modes);
}

/** A table of `modes` with summarize_results' columns and formats ("69.44% ± 4.19%"). */
export function modesTable(modes: GroupMetrics, shown: readonly string[], primary: string): string {
  if (shown.length === 0) return `<p class="muted">No metrics.</p>`;
  const columns = COLUMNS.filter(([key]) => shown.some((m) => typeof modes[m]![key] === "number"));
  const head = `<tr><th class="l">evaluation_mode</th>${columns.map(([k]) => `<th>${esc(k)}</th>`).join("")}</tr>`;
  const body = shown
    .map((mode) => {
      const m = modes[mode]!;
      const cells = columns.map(
        ([key, kind]) => `<td>${typeof m[key] === "number" ? esc(cell(key, kind, m)) : "–"}</td>`,
      );
      return `<tr${mode === primary ? ' class="primary"' : ""}><th class="l mode">${esc(mode)}</th>${cells.join("")}</tr>`;
    })
    .join("");
  return `<div class="table-wrap"><table class="metrics"><thead>${head}</thead><tbody>${body}</tbody></table></div>`;
}

function cell(key: string, kind: "int" | "pct", m: ModeMetrics): string {
  const v = m[key] as number;
  const stats = m[`${key}_statistics`];
  const std =
    typeof stats === "object" && typeof stats.std_dev_across_runs === "number" ? stats.std_dev_across_runs : undefined;
  if (kind === "int") return std === undefined ? String(Math.trunc(v)) : `${Math.trunc(v)} ± ${pyFixed2(std)}`;
  return std === undefined ? `${pyFixed2(v)}%` : `${pyFixed2(v)}% ± ${pyFixed2(100 * std)}%`;
}

/**
 * One row per subject, then one per metric group (MMMU's disciplines): the headline score of the
 * primary mode (ANLS when the metrics have it, with exact match beside it; else accuracy) with its
 * 95% interval (and, with seeds, the lowest and highest seed), majority@k and pass@k of that
 * score, no answer, errors, extractor disagreement and mean tokens. Every number but the interval
 * and the seed range is metrics.json's for that subset, formatted as summarize_results formats it.
 */
export function subjectsTable(data: ReportData): string {
  const runs = data.runs.length;
  const { key, label } = data.score;
  const exact = key !== "symbolic_correct";
  const items: [SubjectStats, GroupMetrics][] =
    data.subjects.length > 0
      ? data.subjects.map((s) => [s, data.metrics[s.name] ?? {}])
      : [[data.overall, data.metrics[ALL_SUBSETS] ?? {}]];
  const extra = runs >= 2 ? [`majority@${runs}`, `pass@${runs}`] : [];
  const heads = [
    "questions",
    label,
    "95% CI",
    ...(runs >= 2 ? ["seed range"] : []),
    ...(exact ? ["exact match"] : []),
    ...extra,
    "no answer",
    "errors",
    "disagreement",
    "avg tokens",
  ];
  const head = `<tr><th class="l">subject</th>${heads.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
  const percent = (v: number) => `${pyFixed2(v)}%`;
  const row = ([s, modes]: [SubjectStats, GroupMetrics], cls = "") => {
    const p = modes[data.primaryMode] ?? {};
    const num = (m: ModeMetrics | undefined, k: string, f: (v: number) => string) =>
      typeof m?.[k] === "number" ? f(m[k] as number) : "–";
    const cells = [
      `<td>${s.questions}</td>`,
      `<td class="strong">${num(p, key, percent)}</td>`,
      `<td class="ci">${s.ci ? `${pct(s.ci.low)} – ${pct(s.ci.high)}` : "–"}</td>`,
      runs >= 2 ? `<td class="ci">${pct(Math.min(...s.perRun))} – ${pct(Math.max(...s.perRun))}</td>` : "",
      exact ? `<td>${num(p, "symbolic_correct", percent)}</td>` : "",
      ...extra.map((m) => `<td>${num(modes[m], key, percent)}</td>`),
      `<td>${num(p, "no_answer", percent)}</td>`,
      `<td>${num(p, "num_errors", (v) => String(v))}</td>`,
      `<td>${num(p, "extractor_disagreement", percent)}</td>`,
      `<td>${num(p, "avg_tokens", (v) => String(Math.trunc(v)))}</td>`,
    ];
    return `<tr${cls}><th class="l">${esc(s.name)}</th>${cells.join("")}</tr>`;
  };
  const subjects = items.filter(([s]) => s.group !== true);
  const groups = items.filter(([s]) => s.group === true);
  const body =
    `<tbody>${subjects.map((it) => row(it)).join("")}</tbody>` +
    (groups.length > 0
      ? `<tbody class="groups"><tr class="group-head"><th class="l" colspan="${heads.length + 1}">groups of subjects</th></tr>${groups.map((it) => row(it, ' class="group"')).join("")}</tbody>`
      : "");
  const foot =
    data.subjects.length > 0
      ? row([{ ...data.overall, name: "all" }, data.metrics[ALL_SUBSETS] ?? {}], ' class="total"')
      : "";
  return `<div class="table-wrap"><table class="subjects"><thead>${head}</thead>${body}<tfoot>${foot}</tfoot></table></div>`;
}
