import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";

// The folders of src/ form layers: an import from one folder into another never comes back,
// directly or through others. A file directly under src/ (errors.ts, types.ts, index.ts) is a
// node of its own. Read from the sources, so a cycle fails here before it confuses a reader.
const src = path.join(repoRoot, "src");

/** Relative imports and re-exports of a TypeScript file (`import type` included). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g)) found.push(m[1]!);
  return found;
}

async function folderGraph(): Promise<Map<string, Map<string, string>>> {
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith(".ts"));
  const node = (rel: string) => rel.split(path.sep)[0]!;
  const graph = new Map<string, Map<string, string>>();
  for (const rel of files) {
    const from = node(rel);
    const text = await readFile(path.join(src, rel), "utf8");
    for (const spec of importsOf(text)) {
      const target = path.relative(src, path.resolve(path.dirname(path.join(src, rel)), spec));
      const to = node(target.replace(/\.js$/, ".ts"));
      if (to === from || target.startsWith("..")) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      // One example import per edge, for the failure message.
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `src/${rel} imports ${spec}`);
    }
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan): each is a cycle of folders. */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        onStack.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe("src/ folders", () => {
  it("import each other without cycles", async () => {
    const graph = await folderGraph();
    const found = cycles(graph).map((scc) =>
      scc
        .flatMap((a) => scc.filter((b) => graph.get(a)?.has(b)).map((b) => `${a} -> ${b} (${graph.get(a)!.get(b)})`))
        .join("\n"),
    );
    expect(found).toEqual([]);
  });

  it("finds a cycle when there is one (the check itself)", () => {
    const g = new Map([
      ["a", new Map([["b", "x"]])],
      ["b", new Map([["c", "x"]])],
      ["c", new Map([["a", "x"]])],
      ["d", new Map([["a", "x"]])],
    ]);
    expect(cycles(g)).toEqual([["a", "b", "c"]]);
  });

  it("keeps library code out of cli/: no other folder imports it", async () => {
    const graph = await folderGraph();
    const intoCli = [...graph].filter(([from, to]) => from !== "cli" && to.has("cli")).map(([from]) => from);
    expect(intoCli).toEqual([]);
  });
});
