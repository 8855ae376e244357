import type { GroupMetrics, OrderedMetrics } from "./types.js";

/**
 * metrics.json's entries in the file's order. JSON.parse moves names that look like integers
 * (a benchmark or subset named `3`) before the others; the file's order is NeMo-Skills' (its
 * json.dump), so the top-level names are taken in the order they are written.
 */
export function readMetricsJson(text: string): OrderedMetrics {
  const parsed = JSON.parse(text) as Record<string, GroupMetrics>;
  const out: OrderedMetrics = new Map();
  // The top-level keys: written by json.dump(indent=2) as `  "name": {` at the start of a line.
  for (const m of text.matchAll(/^ {2}("(?:[^"\\]|\\.)*"): /gm)) {
    const name = JSON.parse(m[1]!) as string;
    if (Object.hasOwn(parsed, name) && !out.has(name)) out.set(name, parsed[name]!);
  }
  // Any the scan missed (a file written otherwise) keep JSON.parse's order, after the others.
  for (const [name, v] of Object.entries(parsed)) if (!out.has(name)) out.set(name, v);
  return out;
}
