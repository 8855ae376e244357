// Bundles the CLI (src/cli/run-cli.ts and every command it loads) into one CommonJS file,
// dist/cli/vlmpipe.cjs, which tsc's dist/cli/main.js loads with a V8 code cache
// (src/cli/compile-cache.ts): what `vlmpipe` runs. tsc's per-module dist/ stays the library.
//
// Why: Node 20 loads ES modules one file at a time with no compile cache; the CLI's ~230
// modules (zod alone is 95, rxjs's CommonJS build ~400) took ~0.3 s of CPU before the first
// request. One file cuts that, and one CommonJS file can be compiled through `vm.Script`,
// which takes a code cache (docs/performance.md, "Figures behind the code"). Commands stay
// lazily evaluated: esbuild turns `await import("./generate.js")` into a call that runs the
// module's top level on first use.
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// The ES-module chunks earlier builds wrote.
await rm(path.join(root, "dist", "cli", "chunks"), { recursive: true, force: true });

const outfile = path.join(root, "dist", "cli", "vlmpipe.cjs");
await build({
  entryPoints: [path.join(root, "src", "cli", "run-cli.ts")],
  outfile,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  // Native code (sharp), and what is loaded only on demand from the installed package
  // (undici for https and proxies, cli-progress through createRequire).
  external: ["sharp", "undici", "cli-progress"],
  plugins: [
    {
      // rxjs's "node" export is its CommonJS build, whose index requires every operator; its
      // ES build lets the bundler keep only what the CLI uses.
      name: "rxjs-esm",
      setup(b) {
        b.onResolve({ filter: /^rxjs$/ }, () => ({
          path: path.join(root, "node_modules", "rxjs", "dist", "esm", "index.js"),
        }));
      },
    },
    {
      // zod's namespace of ~60 error-message locales (~360 KB, a quarter of what the CLI
      // compiles at start-up) cannot be tree-shaken; vlmpipe uses English, which zod imports
      // on its own.
      name: "zod-english-only",
      setup(b) {
        b.onResolve({ filter: /\/locales\/index\.js$/ }, (a) =>
          /[\\/]zod[\\/]/.test(a.importer) ? { path: "zod-locales", namespace: "zod-english-only" } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: "zod-english-only" }, () => ({
          contents: `export { default as en } from ${JSON.stringify(path.join(root, "node_modules", "zod", "v4", "locales", "en.js"))};`,
          resolveDir: root,
        }));
      },
    },
  ],
  // `import()` of what stays outside (undici, sharp; both CommonJS) as `require`: code run by
  // `vm.Script` has no loader for dynamic imports.
  supported: { "dynamic-import": false },
  // The modules' `import.meta.url` (paths.ts finds the package's root from it): the bundle's own.
  define: { "import.meta.url": "__vlmpipeImportMetaUrl" },
  // "use strict" first: ES modules are strict, and esbuild's own directive would come after.
  banner: { js: '"use strict";\nvar __vlmpipeImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  legalComments: "none",
  logLevel: "warning",
});

// ASCII only: esbuild escapes strings but leaves comments and regular expressions as written (a
// few letters and dashes). Escaped too, the file decodes as latin1 and V8 keeps it as a one-byte
// string: half the memory, and its read took 5 ms instead of 11 here. \uXXXX means the same code
// unit in a comment, a regular expression, a string or an identifier; only a template literal's
// raw text would differ, so a code line with a backtick stops the build instead.
const code = await readFile(outfile, "utf8");
const lines = code.split("\n");
lines.forEach((line, i) => {
  const comment = /^\s*(\/\/|\/\*|\*)/.test(line);
  if (/[^\x00-\x7f]/.test(line) && line.includes("`") && !comment)
    throw new Error(`${outfile}:${i + 1}: a non-ASCII character on a line with a template literal`);
});
await writeFile(
  outfile,
  code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
);
