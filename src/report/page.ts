import { createHash } from "node:crypto";
import path from "node:path";
import { pyFixed2 } from "../metrics/format.js";
import { ALL_SUBSETS, type ModeMetrics } from "../metrics/types.js";
import { VERSION } from "../version.js";
import { subjectChart, tokenChart } from "./charts.js";
import { PAGE_SCRIPT } from "./page-script.js";
import { PAGE_STYLE } from "./page-style.js";
import { headlineModes, modesTable, subjectsTable } from "./tables.js";
import { escapeHtml as esc, jsonForScript, pct } from "./text.js";
import type { ReportData } from "./types.js";

/**
 * The whole report as one HTML string: tables and charts rendered here (readable without
 * script), the samples as JSON in `<script type="application/json" id="report-data">` for the
 * browser script. Every piece of data is escaped (escapeHtml, jsonForScript), and a Content
 * Security Policy lets only this page's own script and style run and forbids any fetch, so
 * even a missed escape could not run an untrusted generation as code.
 */
export function renderPage(data: ReportData): string {
  const all = data.metrics[ALL_SUBSETS] ?? {};
  const primary = all[data.primaryMode] ?? {};
  const client = {
    runs: data.runs.map((r) => r.label),
    images: data.samples.images,
    rows: data.samples.rows,
    lines: data.samples.lines,
  };
  const imgSrc = data.samples.images === "link" ? "data: file: http: https:" : "data:";
  const csp = [
    "default-src 'none'",
    `style-src '${sha256(PAGE_STYLE)}'`,
    `script-src '${sha256(PAGE_SCRIPT)}'`,
    `img-src ${imgSrc}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; "); // only fixed words and base64 hashes: nothing to escape in the attribute

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="generator" content="vlmpipe ${esc(VERSION)}">
<title>${esc(data.benchmark)} · vlmpipe report</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
${header(data)}
<main class="wrap">
${tiles(data, primary)}
<section class="card" id="metrics">
<h2>Metrics</h2>
<p class="note">As <code>summarize_results</code> computes them from every row of ${data.runs.length === 1 ? "the output file" : `the ${data.runs.length} output files`}; percentages of questions${data.runs.length > 1 ? ", ± the standard deviation across seeds" : ""}.</p>
${modesTable(all, headlineModes(all), data.primaryMode)}
${Object.keys(all).length > headlineModes(all).length ? `<details class="more"><summary>All evaluation modes</summary>${modesTable(all, Object.keys(all), data.primaryMode)}</details>` : ""}
</section>
<section class="card" id="subjects">
<h2>${esc(capitalize(data.score.label))} by subject</h2>
<p class="note">${subjectsNote(data)}</p>
<div class="chart-wrap">${subjectChart(data.subjects, data.overall, data.primaryMode, data.score.label)}</div>
${legend(data)}
${subjectsTable(data)}
</section>
<section class="card" id="tokens">
<h2>Generated tokens</h2>
${tokenStats(data)}
<div class="chart-wrap">${tokenChart(data.tokens.bins)}</div>
<div class="legend"><span><i class="sw right"></i>right answer</span><span><i class="sw other"></i>wrong, no answer or failed</span></div>
</section>
${samplesSection(data)}
${runSection(data)}
</main>
<footer>vlmpipe ${esc(VERSION)} · written ${esc(data.created.replace("T", " ").replace(/\.\d+Z$/, " UTC"))} · a single file: it opens without network</footer>
<script type="application/json" id="report-data">${jsonForScript(client)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

function header(data: ReportData): string {
  const runs = data.greedy
    ? "greedy (1 run)"
    : `${data.runs.length} seeds (${data.runs.map((r) => r.label.replace(/^seed /, "")).join(", ")})`;
  const bits = [
    data.model ? `model <b>${esc(data.model)}</b>` : "",
    runs,
    `<b>${data.overall.questions.toLocaleString("en-US")}</b> questions`,
    subjectCount(data) > 0 ? `${subjectCount(data)} subjects` : "",
  ].filter((b) => b !== "");
  return `<header class="top"><div class="wrap"><div class="brand">vlmpipe report</div><h1>${esc(data.benchmark)}</h1><div class="meta">${bits.join(" · ")}</div></div></header>`;
}

function tiles(data: ReportData, primary: ModeMetrics): string {
  const k = data.runs.length;
  const all = data.metrics[ALL_SUBSETS] ?? {};
  const { key, label } = data.score;
  const stats = primary[`${key}_statistics`];
  const std =
    typeof stats === "object" && typeof stats.std_dev_across_runs === "number" ? stats.std_dev_across_runs : undefined;
  const out: string[] = [];
  const tile = (key: string, value: string, sub = "", cls = "") =>
    out.push(
      `<div class="tile${cls}"><div class="k">${esc(key)}</div><div class="v">${esc(value)}</div><div class="s">${esc(sub)}</div></div>`,
    );
  const num = (m: ModeMetrics | undefined, key: string) =>
    typeof m?.[key] === "number" ? (m[key] as number) : undefined;

  const acc = num(primary, key);
  const exact = key === "symbolic_correct" ? undefined : num(primary, "symbolic_correct");
  const ci = data.overall.ci;
  tile(
    `${capitalize(label)} · ${data.primaryMode}`,
    acc === undefined ? "–" : `${pyFixed2(acc)}%`,
    [
      exact === undefined ? "" : `exact match ${pyFixed2(exact)}%`,
      ci ? `95% CI ${pct(ci.low)} – ${pct(ci.high)}` : "",
      std === undefined ? "" : `± ${pyFixed2(100 * std)}% across seeds`,
    ]
      .filter((b) => b !== "")
      .join(" · "),
    " main",
  );
  if (k >= 2) {
    const maj = num(all[`majority@${k}`], key);
    const pass = num(all[`pass@${k}`], key);
    if (maj !== undefined) tile(`majority@${k}`, `${pyFixed2(maj)}%`, "most frequent answer");
    if (pass !== undefined)
      tile(`pass@${k}`, `${pyFixed2(pass)}%`, key === "anls" ? `best of ${k} runs` : `right in any of ${k} runs`);
  }
  const noAnswer = num(primary, "no_answer");
  if (noAnswer !== undefined)
    tile("No answer", `${pyFixed2(noAnswer)}%`, key === "anls" ? "no answer extracted" : "no letter extracted");
  const errors = num(primary, "num_errors");
  if (errors !== undefined)
    tile("Failed rows", String(errors), `of ${(data.overall.questions * k).toLocaleString("en-US")} lines`);
  const dis = num(primary, "extractor_disagreement");
  if (dis !== undefined) tile("Extractor disagreement", `${pyFixed2(dis)}%`, "multichoice vs official");
  // avg_tokens as summarize_results prints it: per question, the mean over runs, a failed run's
  // missing count as 0, truncated.
  const tokens = num(primary, "avg_tokens");
  const s = data.tokens.summary;
  if (tokens !== undefined)
    tile(
      "Tokens per answer",
      String(Math.trunc(tokens)),
      s ? `avg_tokens · median ${s.median} · max ${s.max}` : "avg_tokens",
    );
  return `<section class="tiles">${out.join("")}</section>`;
}

function subjectsNote(data: ReportData): string {
  const seeds = data.runs.length > 1 ? "; with seeds, over each question's mean across seeds" : "";
  const graded = data.score.key === "anls" ? ", conservative for a graded score" : "";
  const groups = data.subjects.some((s) => s.group === true)
    ? " The benchmark's groups of subjects follow the subjects, each over its subjects' questions."
    : "";
  return (
    `${esc(data.score.label)}, ${esc(data.primaryMode)}, per <code>subset_for_metrics</code> value as <code>summarize_results</code> computes it, ` +
    `with its 95% confidence interval (Wilson score interval over the subject's questions${seeds}${graded}).${groups}`
  );
}

/** Subjects, without the benchmark's groups of them. */
function subjectCount(data: ReportData): number {
  return data.subjects.filter((s) => s.group !== true).length;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function legend(data: ReportData): string {
  const items = [
    `<span><i class="sw bar"></i>${esc(data.primaryMode)}</span>`,
    `<span><i class="wh"></i>95% confidence interval</span>`,
    data.runs.length > 1 ? `<span><i class="dot"></i>each seed</span>` : "",
    data.subjects.length > 0 ? `<span><i class="dash"></i>all subjects</span>` : "",
  ];
  return `<div class="legend">${items.join("")}</div>`;
}

function tokenStats(data: ReportData): string {
  const s = data.tokens.summary;
  if (!s) return `<p class="note">The output files have no num_generated_tokens.</p>`;
  const items = [
    ["lines", s.count.toLocaleString("en-US")],
    ["mean", s.mean.toFixed(1)],
    ["median", String(s.median)],
    ["90th percentile", String(s.p90)],
    ["min", String(s.min)],
    ["max", String(s.max)],
    ["cut at the token limit (finish_reason length)", data.tokens.truncated.toLocaleString("en-US")],
  ];
  return `<div class="stats">${items.map(([k, v]) => `<span>${esc(k!)} <b>${esc(v!)}</b></span>`).join("")}</div>`;
}

function samplesSection(data: ReportData): string {
  const s = data.samples;
  const notices: string[] = [];
  if (s.embeddedRows < s.totalRows) {
    notices.push(
      `Only the first ${s.embeddedRows.toLocaleString("en-US")} of ${s.totalRows.toLocaleString("en-US")} questions of each run are in this page ` +
        `(max_samples ${s.maxSamples}); the metrics, charts and tables above count all of them.`,
    );
  }
  if (s.images === "none") notices.push("Images are left out of this report (images: none).");
  const filters: [string, string, string][] = [
    ["all", "All", "every line"],
    ["wrong", "Wrong", "symbolic_correct is false"],
    ["noanswer", "No answer", "no answer was extracted (failed rows not counted)"],
    ["error", "Error", "the row failed: it carries an error"],
    ["disagree", "Disagreement", "the multichoice and official extractors gave different letters"],
    ["fallback", "Fallback", "the official parser guessed at random"],
  ];
  return `<section class="card" id="samples">
<h2>Samples</h2>
<p class="note">One line per question${data.runs.length > 1 ? " and seed" : ""}: open one to see its image(s), the prompt, the response (reasoning folded) and the extracted and expected answers. Texts longer than ${s.textLimit.toLocaleString("en-US")} characters are cut in the middle.</p>
${notices.map((n) => `<div class="notice">${esc(n)}</div>`).join("")}
<div class="toolbar">
<div class="filters" role="group" aria-label="filter">${filters
    .map(
      ([f, label, title]) =>
        `<button type="button" data-filter="${f}" title="${esc(title)}">${esc(label)}<span class="n"></span></button>`,
    )
    .join("")}</div>
<label>subject <select id="filter-subject"><option value="">all</option></select></label>
<label>seed <select id="filter-run"><option value="">all</option></select></label>
<input id="filter-text" type="search" placeholder="Search id, prompt, response..." aria-label="search">
</div>
<div class="countbar"><span id="sample-count" data-count="0"></span>${pager(true)}</div>
<div id="sample-list"><noscript><div class="empty">The sample browser needs JavaScript.</div></noscript></div>
<div class="countbar" id="pager-bottom"><span></span>${pager(false)}</div>
</section>`;
}

function pager(top: boolean): string {
  const t = top ? ' data-top="1"' : "";
  return `<span class="pager"><button type="button" class="page-prev"${t}>‹ Previous</button><span class="page-info"></span><button type="button" class="page-next"${t}>Next ›</button></span>`;
}

function runSection(data: ReportData): string {
  const spec = data.spec ?? {};
  const gen = (spec.generation ?? {}) as Record<string, unknown>;
  const items: [string, string][] = [];
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "") items.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
  };
  put("model", spec.model);
  put("output files", data.runs.map((r) => path.basename(r.file)).join(", "));
  put("folder", path.dirname(data.runs[0]?.file ?? ""));
  put("input file", spec.input_file);
  put(
    "prompt config",
    spec.prompt_config ? `${spec.prompt_config}${spec.prompt_hash ? ` (hash ${spec.prompt_hash})` : ""}` : undefined,
  );
  put("inference", spec.inference);
  put("extractor", gen.eval_type);
  put("images", data.samples.images + (data.samples.dataDir ? ` (from ${data.samples.dataDir})` : ""));
  put("run started", spec.created);
  put("vlmpipe", spec.vlmpipe_version);
  return `<section class="card" id="run"><h2>Run</h2><dl class="run">${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl></section>`;
}

function sha256(text: string): string {
  return `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;
}
