// Reads a V8 .cpuprofile (node --cpu-prof) and prints where the time goes: self time by
// function and by area (vlmpipe's files, each package, node internals, GC, idle).
//
//   node --cpu-prof --cpu-prof-dir=/tmp/p dist/cli/main.js generate ...
//   node bench/profile.mjs /tmp/p/*.cpuprofile [--top 30]
import { readFileSync } from "node:fs";

/** Self milliseconds per function and per area, idle excluded from the shares. */
export function summarizeProfile(file, top = 25) {
  const p = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // samples[i] lasted timeDeltas[i + 1] microseconds (V8's convention).
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const areas = new Map();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || "(anonymous)";
    if (name === "(idle)") continue;
    busy += us;
    const where = area(cf.url, name);
    const key = `${name} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    areas.set(where, (areas.get(where) ?? 0) + us);
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  const pct = (us) => Math.round((1000 * us) / busy) / 10;
  return {
    busy_ms: Math.round(busy / 1000),
    areas: sorted(areas).map(([k, us]) => ({ area: k, ms: Math.round(us / 1000), pct: pct(us) })),
    functions: sorted(fns)
      .slice(0, top)
      .map(([k, us]) => ({ fn: k, ms: Math.round(us / 1000), pct: pct(us) })),
  };
}

function shortUrl(url) {
  if (!url) return "";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const d = url.indexOf("/dist/");
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, "");
}

function area(url, name) {
  if (!url) return name.startsWith("(") ? name : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith("node:")) return "node internals";
  const d = url.indexOf("/dist/");
  if (d >= 0) return `vlmpipe ${url.slice(d + 6).split("/")[0]}/`;
  return url;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const t = args.indexOf("--top");
  const top = t >= 0 ? Number(args[t + 1]) : 25;
  for (const f of args.filter((a, i) => a.endsWith(".cpuprofile") && i !== t + 1)) {
    const s = summarizeProfile(f, top);
    console.log(`${f}: ${s.busy_ms} ms busy`);
    for (const a of s.areas.slice(0, 15)) console.log(`  ${String(a.pct).padStart(5)}%  ${a.area}`);
    console.log("  --");
    for (const x of s.functions) console.log(`  ${String(x.pct).padStart(5)}%  ${x.fn}`);
  }
}
