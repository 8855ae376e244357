import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";

const run = promisify(execFile);

/**
 * The package as a user gets it: `npm pack`, installed from the tarball into an empty folder
 * (dependencies from npm's cache, which `npm ci` filled), then used the three ways the README
 * shows. `npm test` builds dist/ first; `--ignore-scripts` keeps pack from building again.
 */

/** What may ship: anything else in the tarball (test keys, scratch files) fails the test. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^docs\/.+\.md$/,
  /^dist\/.+\.(js|cjs|d\.ts|js\.map|d\.ts\.map)$/,
  /^src\/.+\.ts$/,
  /^prompts\/.+\.yaml$/,
  /^pipelines\/.+\.yaml$/,
  /^cluster_configs\/.+\.yaml$/,
  /^fixtures\/data\/.+\.(jsonl|json|md|png|jpe?g|gif|webp|bmp|tiff?)$/i,
];
const REQUIRED = [
  "package.json",
  "README.md",
  "LICENSE",
  "dist/cli/main.js",
  // The CLI proper, which main.js loads (scripts/bundle-cli.mjs).
  "dist/cli/vlmpipe.cjs",
  "dist/index.js",
  "dist/index.d.ts",
  // The README's links into docs/ resolve in an installed package too.
  "docs/README.md",
];

let work: string;
let tarball: string;
let files: string[];
let consumer: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "vlmpipe-pack-"));
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: repoRoot,
    maxBuffer: 64 << 20,
  });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info!.filename);
  files = info!.files.map((f) => f.path);
  consumer = path.join(work, "consumer");
  await run("mkdir", ["-p", consumer]);
  await writeFile(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", allowScripts: { sharp: true } }),
  );
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
    cwd: consumer,
    maxBuffer: 64 << 20,
  });
}, 240_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("holds only allowed files, and every file a user needs", () => {
    const stray = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
    expect(stray).toEqual([]);
    for (const f of REQUIRED) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith("fixtures/tls/"))).toBe(false);
    // Source maps point into src/, so src/ ships with them.
    const maps = files.filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(0);
    for (const m of maps.slice(0, 20))
      expect(files).toContain(m.replace(/^dist\//, "src/").replace(/\.js\.map$/, ".ts"));
  });

  it("runs `npx vlmpipe --version`", async () => {
    const { stdout } = await run("npx", ["--no-install", "vlmpipe", "--version"], { cwd: consumer });
    const pkg = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(stdout.trim()).toBe(pkg.version);
  });

  it("runs the README's quick-start eval (four benchmarks) on its own fixtures", async () => {
    const out = path.join(work, "demo");
    const data = path.join(consumer, "node_modules", "vlmpipe", "fixtures", "data");
    await run(
      "npx",
      [
        "--no-install",
        "vlmpipe",
        "eval",
        "--benchmarks",
        "mmmu-pro,mmmu,chartqa,docvqa",
        "--model",
        "sim",
        "--server_type",
        "sim",
        "--sim_accuracy",
        "0.7",
        "--data_dir",
        data,
        "--output_dir",
        out,
      ],
      { cwd: consumer, maxBuffer: 64 << 20 },
    );
    const rows = { "mmmu-pro": 60, mmmu: 60, chartqa: 20, docvqa: 20 } as Record<string, number>;
    for (const [name, n] of Object.entries(rows)) {
      const metrics = JSON.parse(await readFile(path.join(out, "eval-results", name, "metrics.json"), "utf8"));
      expect(metrics[name]["pass@1"].num_entries, name).toBe(n);
    }
  }, 180_000);

  it("imports the public API as ESM", async () => {
    const script = 'import * as v from "vlmpipe"; console.log(JSON.stringify(Object.keys(v).sort()));';
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: consumer });
    const keys = JSON.parse(stdout) as string[];
    for (const k of ["readRows", "renderPrompt", "generate", "extractAnswer", "score", "writeOutput"])
      expect(keys).toContain(k);
  });

  it("type-checks a small TypeScript consumer (with @types/node, as the docs say)", async () => {
    await writeFile(
      path.join(consumer, "main.ts"),
      [
        'import { readRows, extractAnswer, type Sample } from "vlmpipe";',
        "const first: Sample = { index: 0, row: { question: 'q' }, out: {} };",
        "void readRows; void extractAnswer; void first;",
        "",
      ].join("\n"),
    );
    await writeFile(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          types: ["node"],
          typeRoots: [path.join(repoRoot, "node_modules", "@types")],
        },
        files: ["main.ts"],
      }),
    );
    const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const { stdout } = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: consumer }).catch((e) => {
      throw new Error(`tsc failed:\n${e.stdout}${e.stderr}`);
    });
    expect(stdout).toBe("");
  }, 180_000); // tsc over the package's declarations took 46-60 s on a loaded 2-core machine
});
