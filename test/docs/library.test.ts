import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot } from "../helpers/bin.js";

const run = promisify(execFile);

/**
 * docs/library.md's examples, as a user would run them: type-checked (strict) against the built
 * package's declarations and run against it, `import ... from "vlmpipe"` resolving to this
 * package (`npm test` builds dist/ first) and rxjs installed beside it, as the page's
 * `npm install vlmpipe rxjs` does. Each example continues the ones before it (the second uses
 * the first's `config`), so example n runs as examples 1..n in one module. Only the server
 * address is changed: the examples talk to a simulator serving the model "M", in a folder
 * holding the page's `data/mmmu-pro/test.jsonl` (the package's fixture).
 */

const PAGE_URL = "http://127.0.0.1:8000/v1";

let work: string;
let sim: SimServer;
let examples: string[];

beforeAll(async () => {
  const page = await readFile(path.join(repoRoot, "docs", "library.md"), "utf8");
  examples = [...page.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  work = await mkdtemp(path.join(tmpdir(), "vlmpipe-library-doc-"));
  await mkdir(path.join(work, "node_modules"));
  await symlink(repoRoot, path.join(work, "node_modules", "vlmpipe"), "dir");
  await symlink(path.join(repoRoot, "node_modules", "rxjs"), path.join(work, "node_modules", "rxjs"), "dir");
  await writeFile(path.join(work, "package.json"), JSON.stringify({ private: true, type: "module" }));
  await cp(path.join(repoRoot, "fixtures", "data", "mmmu-pro"), path.join(work, "data", "mmmu-pro"), {
    recursive: true,
  });
  const rows = (await readFile(path.join(work, "data", "mmmu-pro", "test.jsonl"), "utf8"))
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  sim = await startSimServer({ model: "M", answer_rows: rows as never, accuracy: 1 });
});

afterAll(async () => {
  await sim?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Examples 1..n as one module, compiled (strict) to JavaScript; its path. */
async function compile(n: number): Promise<string> {
  const name = `example-${n}`;
  const source = examples.slice(0, n).join("\n").replaceAll(PAGE_URL, `${sim.url}/v1`);
  await writeFile(path.join(work, `${name}.ts`), source);
  await writeFile(
    path.join(work, `tsconfig-${n}.json`),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        // The package's own declarations are checked by test/package; here, the examples.
        skipLibCheck: true,
        outDir: "out",
        types: ["node"],
        typeRoots: [path.join(repoRoot, "node_modules", "@types")],
      },
      files: [`${name}.ts`],
    }),
  );
  const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [tsc, "-p", `tsconfig-${n}.json`], { cwd: work }).catch((e) => {
    throw new Error(`${name} does not compile:\n${e.stdout}${e.stderr}\n${source}`);
  });
  return path.join(work, "out", `${name}.js`);
}

describe("docs/library.md", () => {
  it("has the two examples this test knows how to check", () => {
    expect(examples).toHaveLength(2);
    expect(examples[0]).toContain(PAGE_URL);
  });

  it("names every export of the package in its Exports section, and only exports", async () => {
    const page = await readFile(path.join(repoRoot, "docs", "library.md"), "utf8");
    const section = page.split("\n## Exports\n")[1]?.split("\n## ")[0] ?? "";
    const api = (await import(path.join(repoRoot, "dist", "index.js"))) as Record<string, unknown>;
    expect(Object.keys(api).filter((k) => !section.includes(`\`${k}\``))).toEqual([]);
    // Type-only exports are not values: they are checked by the examples' compilation instead.
    const types = new Set([
      "Sample",
      "SampleError",
      "ChatMessage",
      "ContentPart",
      "ChatClient",
      "ChatRequest",
      "ChatResult",
    ]);
    const named = [...section.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    expect(named.filter((n) => !(n in api) && !types.has(n))).toEqual([]);
  });

  it("runs the standard chain from code: every Biology row answered and scored", async () => {
    const { stdout } = await run(process.execPath, [await compile(1)], { cwd: work });
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(10);
    for (const l of lines) expect(l).toMatch(/^\{ id: 'test_Biology_\d+', correct: true \}$/);
  }, 120_000);

  it("runs a stage of its own under Flow and writes one line per row", async () => {
    await run(process.execPath, [await compile(2)], { cwd: work });
    const out = (await readFile(path.join(work, "out.jsonl-async"), "utf8")).trim().split("\n");
    expect(out).toHaveLength(60);
    const sizes = out.map((l) => (JSON.parse(l) as { image_bytes: unknown }).image_bytes);
    expect(sizes.every((b) => typeof b === "number" && b > 0)).toBe(true);
  }, 120_000);
});
