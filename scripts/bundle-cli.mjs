// Bundles the CLI (src/cli/main.ts) into dist/cli/main.js, its lazily loaded commands into
// dist/cli/chunks/: what `vlmpipe` runs. tsc's per-module dist/ stays the library.
//
// Why: Node 20 loads ES modules one file at a time with no compile cache; the CLI's ~230
// modules (zod alone is 95, rxjs's CommonJS build ~400) took ~0.3 s of CPU before the first
// request. One file per command cuts that (docs/performance.md, "Figures behind the
// code").
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

await build({
  entryPoints: { main: path.join(root, "src", "cli", "main.ts") },
  outdir: path.join(root, "dist", "cli"),
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
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
  // CommonJS packages in the bundle (commander, yaml) require Node's builtins.
  banner: {
    js: 'import { createRequire as __vlmpipeRequire } from "node:module"; const require = __vlmpipeRequire(import.meta.url);',
  },
  legalComments: "none",
  logLevel: "warning",
});
