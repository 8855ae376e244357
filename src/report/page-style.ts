/** The report's stylesheet (inline: the page loads nothing). */
export const PAGE_STYLE = `
:root {
  --bg: #f5f6f8; --card: #ffffff; --line: #e2e5ea; --line-soft: #eef0f3;
  --text: #1c2330; --muted: #5f6b7a; --faint: #8a94a3;
  --accent: #3566b8; --accent-soft: #e8effa;
  --right: #1f8f5a; --right-soft: #e3f4ec; --wrong: #c2413b; --wrong-soft: #fbe9e8;
  --warn: #a86500; --warn-soft: #fdf1dc; --seed: #e8910c;
  --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
.wrap { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header.top { background: #1d2735; color: #fff; padding: 22px 0 20px; }
header.top .brand { font-size: 12px; letter-spacing: .08em; text-transform: uppercase; color: #9fb0c8; }
header.top h1 { margin: 2px 0 6px; font-size: 26px; font-weight: 650; }
header.top .meta { color: #c8d3e2; font-size: 13px; }
header.top .meta b { color: #fff; font-weight: 600; }
main.wrap { padding-top: 20px; padding-bottom: 8px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px 22px; margin: 0 0 18px; }
h2 { font-size: 17px; margin: 0 0 4px; font-weight: 650; }
h3 { font-size: 13px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; font-weight: 600; }
p.note { margin: 0 0 14px; color: var(--muted); font-size: 13px; }
.muted { color: var(--muted); }
.notice { background: var(--warn-soft); color: #6b4300; border: 1px solid #f1d9ad; border-radius: 6px; padding: 8px 12px; margin: 0 0 14px; font-size: 13px; }

.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 12px; margin: 0 0 18px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.tile .k { font-size: 12px; color: var(--muted); }
.tile .v { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.tile .s { font-size: 12px; color: var(--faint); font-variant-numeric: tabular-nums; }
.tile.main { grid-column: span 2; border-color: #b9cbeb; background: linear-gradient(180deg, #f4f8ff, #fff); }
.tile.main .v { color: var(--accent); }

.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { padding: 6px 10px; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--line-soft); }
thead th { background: #f3f5f8; color: var(--muted); font-weight: 600; font-size: 12px; border-bottom: 1px solid var(--line); }
th.l, td.l { text-align: left; }
tbody th { font-weight: 500; }
tbody tr:hover { background: #fafbfd; }
tr.primary th, tr.primary td { font-weight: 650; background: var(--accent-soft); }
th.mode { font-family: var(--mono); font-size: 12.5px; }
td.strong { font-weight: 650; }
td.ci { color: var(--muted); }
tbody.groups tr.group-head th { text-align: left; color: var(--muted); font-size: 12px; font-weight: 600; border-top: 2px solid var(--line); }
tbody.groups tr.group-head:hover { background: none; }
tfoot tr.total th, tfoot tr.total td { font-weight: 650; border-top: 2px solid var(--line); border-bottom: none; }
details.more { margin-top: 12px; }
details.more > summary { cursor: pointer; color: var(--accent); font-size: 13px; }
details.more[open] > summary { margin-bottom: 8px; }

.chart-wrap { overflow-x: auto; margin: 2px 0 6px; }
svg.chart { display: block; width: 100%; min-width: 640px; height: auto; font-family: inherit; }
svg .grid { stroke: #edf0f3; stroke-width: 1; }
svg .grid.major { stroke: #d9dee5; }
svg .axis { stroke: #9aa4b2; stroke-width: 1; }
svg .tick { font-size: 11px; fill: var(--faint); }
svg .axis-title { font-size: 12px; fill: var(--muted); }
svg .label { font-size: 12.5px; fill: #2f3a4a; }
svg .value { font-size: 12px; fill: #1c2330; font-weight: 600; }
svg .row-bg { fill: transparent; }
svg .subject:hover .row-bg { fill: #f4f6fa; }
svg .bar { fill: #5b8bd6; }
svg .subject:hover .bar { fill: var(--accent); }
svg .group .bar { fill: #8fa9d3; }
svg .group-rule { stroke: #d9dee5; stroke-width: 1; }
svg .whisker { stroke: #1c2330; stroke-width: 1.5; }
svg .seed { fill: var(--seed); stroke: #fff; stroke-width: 1.2; }
svg .overall { stroke: var(--wrong); stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .overall-label { font-size: 11.5px; fill: var(--wrong); font-weight: 600; }
svg .tok-right { fill: #3aa676; }
svg .tok-other { fill: #e08a85; }
svg .tbin:hover rect { opacity: .8; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 12px; color: var(--muted); margin: 4px 0 14px; }
.legend i { display: inline-block; vertical-align: -2px; margin-right: 6px; }
.legend .sw { width: 14px; height: 12px; border-radius: 2px; }
.legend .sw.bar { background: #5b8bd6; } .legend .sw.right { background: #3aa676; } .legend .sw.other { background: #e08a85; }
.legend .wh { width: 18px; height: 10px; border: 1.5px solid #1c2330; border-top: none; border-bottom: none; position: relative; }
.legend .wh::after { content: ""; position: absolute; left: 0; right: 0; top: 4px; border-top: 1.5px solid #1c2330; }
.legend .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--seed); }
.legend .dash { width: 18px; border-top: 2px dashed var(--wrong); vertical-align: 3px; }
.stats { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 0 0 10px; font-size: 13px; color: var(--muted); }
.stats b { color: var(--text); font-variant-numeric: tabular-nums; }

.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 10px 14px; margin: 0 0 12px; }
.filters { display: inline-flex; flex-wrap: wrap; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.filters button { border: none; border-right: 1px solid var(--line); background: #fff; padding: 6px 12px; font: inherit; font-size: 13px; color: var(--text); cursor: pointer; }
.filters button:last-child { border-right: none; }
.filters button:hover { background: #f4f6fa; }
.filters button.active { background: var(--accent); color: #fff; }
.filters button .n { color: var(--faint); font-variant-numeric: tabular-nums; margin-left: 4px; }
.filters button.active .n { color: #d6e3f8; }
.toolbar select, .toolbar input { font: inherit; font-size: 13px; padding: 6px 8px; border: 1px solid var(--line); border-radius: 7px; background: #fff; color: var(--text); }
.toolbar input[type=search] { min-width: 160px; flex: 1; }
.toolbar label { font-size: 12px; color: var(--muted); display: inline-flex; align-items: center; gap: 6px; }
.countbar { display: flex; justify-content: space-between; align-items: center; margin: 0 0 8px; font-size: 13px; color: var(--muted); }
#sample-count { color: var(--text); font-weight: 600; }
.pager { display: inline-flex; gap: 6px; align-items: center; }
.pager button { font: inherit; font-size: 12.5px; padding: 4px 10px; border: 1px solid var(--line); background: #fff; border-radius: 6px; cursor: pointer; }
.pager button:disabled { color: var(--faint); cursor: default; }

details.sample { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 8px; background: #fff; }
details.sample[open] { border-color: #c5d2e6; box-shadow: 0 1px 3px rgba(20, 30, 50, .06); }
details.sample > summary { list-style: none; cursor: pointer; display: flex; align-items: center; gap: 10px; padding: 8px 12px; font-size: 13px; }
details.sample > summary::-webkit-details-marker { display: none; }
details.sample > summary::before { content: "▸"; color: var(--faint); width: 10px; }
details.sample[open] > summary::before { content: "▾"; }
details.sample > summary:hover { background: #fafbfd; }
.badge { display: inline-block; min-width: 62px; text-align: center; font-size: 11.5px; font-weight: 650; padding: 1px 8px; border-radius: 10px; }
.badge.right { background: var(--right-soft); color: var(--right); }
.badge.wrong { background: var(--wrong-soft); color: var(--wrong); }
.badge.error { background: var(--wrong); color: #fff; }
.badge.none, .badge.unscored { background: var(--warn-soft); color: var(--warn); }
.sid { font-family: var(--mono); font-size: 12.5px; }
.chip { font-size: 11.5px; color: var(--muted); background: #f1f3f6; border-radius: 4px; padding: 0 6px; }
.chip.flag { background: var(--warn-soft); color: var(--warn); }
.ans { margin-left: auto; color: var(--muted); font-size: 12.5px; white-space: nowrap; }
.ans b { color: var(--text); font-family: var(--mono); }
.sample-body { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; padding: 4px 14px 14px 34px; border-top: 1px solid var(--line-soft); }
@media (max-width: 860px) { .sample-body { grid-template-columns: 1fr; padding-left: 14px; } }
.sample-body h3 { margin-top: 12px; }
.prompt { background: #fafbfc; border: 1px solid var(--line-soft); border-radius: 6px; padding: 10px 12px; }
.system { font-size: 12.5px; color: var(--muted); border-left: 3px solid var(--line); padding-left: 8px; margin: 0 0 8px; white-space: pre-wrap; }
pre.text { white-space: pre-wrap; word-wrap: break-word; overflow-wrap: anywhere; margin: 0; font: 13px/1.5 var(--mono); }
.prompt pre.text { font-family: inherit; font-size: 13.5px; }
.response pre.text { background: #fafbfc; border: 1px solid var(--line-soft); border-radius: 6px; padding: 10px 12px; max-height: 420px; overflow: auto; }
details.reasoning { margin: 0 0 8px; }
details.reasoning > summary { cursor: pointer; font-size: 12.5px; color: var(--accent); }
details.reasoning pre.text { margin-top: 6px; color: #46505e; max-height: 360px; }
.thumbs { display: flex; flex-wrap: wrap; gap: 8px; margin: 4px 0 8px; }
figure.thumb { margin: 0; display: inline-flex; flex-direction: column; gap: 3px; max-width: 280px; }
figure.thumb img { max-width: 256px; max-height: 256px; border: 1px solid var(--line); border-radius: 4px; background: #fff; display: block; }
figure.thumb figcaption { font-size: 11px; color: var(--faint); font-family: var(--mono); overflow-wrap: anywhere; }
.thumb.missing { width: 180px; min-height: 110px; border: 1px dashed #c2c9d3; border-radius: 4px; display: flex; flex-direction: column; align-items: center; justify-content: center; text-align: center; padding: 8px; color: var(--faint); font-size: 12px; background: repeating-linear-gradient(45deg, #fafbfc, #fafbfc 6px, #f3f5f7 6px, #f3f5f7 12px); }
.thumb.missing small { font-family: var(--mono); font-size: 10.5px; overflow-wrap: anywhere; margin-top: 4px; }
dl.answers { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; font-size: 13px; }
dl.answers dt { color: var(--muted); }
dl.answers dd { margin: 0; font-family: var(--mono); }
.errbox { background: var(--wrong-soft); border: 1px solid #f0c4c1; color: #7d1f1a; border-radius: 6px; padding: 8px 10px; font-size: 12.5px; margin: 0 0 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
.empty { padding: 26px; text-align: center; color: var(--muted); border: 1px dashed var(--line); border-radius: 8px; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; font-size: 13px; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; font-family: var(--mono); font-size: 12.5px; overflow-wrap: anywhere; }
footer { text-align: center; color: var(--faint); font-size: 12px; padding: 6px 0 28px; }
`;
