import { pyFixed2 } from "../metrics/format.js";
import { type HistogramBin, niceTicks } from "./stats.js";
import { escapeHtml as esc, pct } from "./text.js";
import type { SubjectStats } from "./types.js";

const WIDTH = 1080;

/**
 * Horizontal bars of the headline score (accuracy, or ANLS: `label`) per subject (SVG, drawn here
 * so the page needs no script to show it): one `<g class="subject">` per subject with its bar
 * (`rect.bar`), the 95% interval as a whisker, each seed's score as a dot when there are several,
 * and the whole benchmark's score as a dashed line; the benchmark's metric groups (MMMU's
 * disciplines) follow the subjects, below a rule, as `<g class="subject group">`. Without
 * subjects, the one bar is the benchmark. Values are the metrics' ("60.52%", summarize_results'
 * rounding); a subject whose metrics lack the score has no bar.
 */
export function subjectChart(
  subjects: readonly SubjectStats[],
  overall: SubjectStats,
  mode: string,
  label = "accuracy",
): string {
  const items = subjects.length > 0 ? subjects : [overall];
  const longest = Math.max(...items.map((s) => s.name.length));
  const x0 = Math.min(230, Math.max(90, Math.round(longest * 7.2) + 16));
  const x1 = WIDTH - 70;
  const rowH = 28;
  const top = 26;
  const plotH = items.length * rowH;
  const height = top + plotH + 34;
  const x = (v: number) => x0 + Math.max(0, Math.min(1, v)) * (x1 - x0);
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  for (let t = 0; t <= 100; t += 10) {
    const gx = f(x(t / 100));
    parts.push(
      `<line class="grid${t % 50 === 0 ? " major" : ""}" x1="${gx}" x2="${gx}" y1="${top - 4}" y2="${top + plotH}"/>`,
    );
    if (t % 20 === 0)
      parts.push(`<text class="tick" x="${gx}" y="${top + plotH + 18}" text-anchor="middle">${t}%</text>`);
  }
  parts.push(
    `<text class="axis-title" x="${f((x0 + x1) / 2)}" y="${height - 2}" text-anchor="middle">${esc(label)}, ${esc(mode)}</text>`,
  );

  const value = (s: SubjectStats) => (s.score === null ? "–" : `${pyFixed2(s.score)}%`);
  items.forEach((s, i) => {
    const cy = top + i * rowH + rowH / 2;
    if (s.group === true && items[i - 1]?.group !== true) {
      parts.push(`<line class="group-rule" x1="0" x2="${WIDTH}" y1="${cy - rowH / 2}" y2="${cy - rowH / 2}"/>`);
    }
    const tip =
      `${s.name}${s.group === true ? " (group)" : ""}: ${value(s)}` +
      (s.ci ? ` (95% CI ${pct(s.ci.low)} to ${pct(s.ci.high)})` : "") +
      `, ${s.questions} questions` +
      (s.perRun.length > 1 ? `; seeds: ${s.perRun.map((p) => pct(p)).join(", ")}` : "");
    const g: string[] = [
      `<g class="subject${s.group === true ? " group" : ""}" data-subject="${esc(s.name)}" data-accuracy="${s.accuracy ?? ""}"><title>${esc(tip)}</title>`,
    ];
    g.push(`<rect class="row-bg" x="0" y="${cy - rowH / 2}" width="${WIDTH}" height="${rowH}"/>`);
    g.push(`<text class="label" x="${x0 - 10}" y="${cy + 4}" text-anchor="end">${esc(ellipsize(s.name, 30))}</text>`);
    if (s.accuracy !== null) {
      g.push(`<rect class="bar" x="${x0}" y="${cy - 8}" width="${f(x(s.accuracy) - x0)}" height="16" rx="2"/>`);
    }
    if (s.ci) {
      const lo = f(x(s.ci.low));
      const hi = f(x(s.ci.high));
      g.push(`<line class="whisker" x1="${lo}" x2="${hi}" y1="${cy}" y2="${cy}"/>`);
      g.push(`<line class="whisker" x1="${lo}" x2="${lo}" y1="${cy - 6}" y2="${cy + 6}"/>`);
      g.push(`<line class="whisker" x1="${hi}" x2="${hi}" y1="${cy - 6}" y2="${cy + 6}"/>`);
    }
    if (s.perRun.length > 1) {
      for (const p of s.perRun) g.push(`<circle class="seed" cx="${f(x(p))}" cy="${cy}" r="4"/>`);
    }
    // Past the whisker and the seeds' dots, so a dot at 100% does not cover the value.
    const right = Math.max(x(s.ci?.high ?? 0), x(s.accuracy ?? 0), ...s.perRun.map((p) => x(p) + 4));
    g.push(`<text class="value" x="${f(right + 8)}" y="${cy + 4}">${value(s)}</text>`);
    g.push("</g>");
    parts.push(g.join(""));
  });

  if (subjects.length > 0 && overall.accuracy !== null) {
    const ox = f(x(overall.accuracy));
    parts.push(`<line class="overall" x1="${ox}" x2="${ox}" y1="${top - 6}" y2="${top + plotH}"/>`);
    parts.push(
      `<text class="overall-label" x="${ox}" y="${top - 10}" text-anchor="middle">all: ${value(overall)}</text>`,
    );
  }
  return svg("subject-chart", height, `${label} per subject (${mode}) with 95% confidence intervals`, parts);
}

/**
 * Columns of the number of lines per generated-token bin, stacked: right answers below, the
 * rest above, so a long tail of wrong or cut answers shows at a glance.
 */
export function tokenChart(bins: readonly HistogramBin[]): string {
  const height = 250;
  const left = 56;
  const right = 16;
  const top = 14;
  const bottom = 44;
  const plotW = WIDTH - left - right;
  const plotH = height - top - bottom;
  if (bins.length === 0) {
    return svg("token-chart", 60, "Generated tokens", [
      `<text class="tick" x="${WIDTH / 2}" y="34" text-anchor="middle">no token counts in the output files</text>`,
    ]);
  }
  const ticks = niceTicks(Math.max(...bins.map((b) => b.count)));
  const yMax = ticks[ticks.length - 1]!;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const bw = plotW / bins.length;
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${left}" x2="${WIDTH - right}" y1="${f(y(t))}" y2="${f(y(t))}"/>`);
    parts.push(`<text class="tick" x="${left - 8}" y="${f(y(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  const every = Math.ceil(bins.length / 10);
  bins.forEach((b, i) => {
    const bx = left + i * bw;
    const gap = Math.min(2, bw * 0.15);
    const range = b.hi - b.lo === 1 ? `${b.lo}` : `${b.lo}-${b.hi - 1}`;
    const g = [`<g class="tbin"><title>${esc(`${range} tokens: ${b.count} lines, ${b.correct} right`)}</title>`];
    const wrong = b.count - b.correct;
    if (b.correct > 0)
      g.push(
        `<rect class="tok-right" x="${f(bx + gap / 2)}" y="${f(y(b.correct))}" width="${f(bw - gap)}" height="${f(y(0) - y(b.correct))}"/>`,
      );
    if (wrong > 0)
      g.push(
        `<rect class="tok-other" x="${f(bx + gap / 2)}" y="${f(y(b.count))}" width="${f(bw - gap)}" height="${f(y(b.correct) - y(b.count))}"/>`,
      );
    g.push("</g>");
    parts.push(g.join(""));
    if (i % every === 0)
      parts.push(`<text class="tick" x="${f(bx)}" y="${top + plotH + 16}" text-anchor="middle">${b.lo}</text>`);
  });
  const last = bins[bins.length - 1]!;
  if (bins.length % every === 0)
    parts.push(
      `<text class="tick" x="${f(left + plotW)}" y="${top + plotH + 16}" text-anchor="middle">${last.hi}</text>`,
    );
  parts.push(`<line class="axis" x1="${left}" x2="${WIDTH - right}" y1="${f(y(0))}" y2="${f(y(0))}"/>`);
  parts.push(
    `<text class="axis-title" x="${f(left + plotW / 2)}" y="${height - 6}" text-anchor="middle">generated tokens per answer</text>`,
  );
  parts.push(
    `<text class="axis-title" transform="translate(14 ${f(top + plotH / 2)}) rotate(-90)" text-anchor="middle">lines</text>`,
  );
  return svg("token-chart", height, "Distribution of generated tokens", parts);
}

function svg(id: string, height: number, label: string, parts: string[]): string {
  return (
    `<svg id="${id}" class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(label)}" xmlns="http://www.w3.org/2000/svg">` +
    parts.join("") +
    "</svg>"
  );
}

function ellipsize(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
