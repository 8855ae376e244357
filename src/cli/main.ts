#!/usr/bin/env node
import { fileURLToPath } from "node:url";
import { commandKey, compileCacheDir, loadBundle } from "./compile-cache.js";
import { Exit } from "./context.js";
import type * as RunCliModule from "./run-cli.js";

// The CLI proper is one CommonJS bundle beside this file (scripts/bundle-cli.mjs), loaded with
// a V8 code cache (compile-cache.ts); without the bundle (tsc's dist/ alone) the modules run.
const args = process.argv.slice(2);
const bundle = loadBundle<typeof RunCliModule>(
  fileURLToPath(new URL("./vlmpipe.cjs", import.meta.url)),
  compileCacheDir(),
  commandKey(args),
);
// The cache is written after a command that ran whole (done, or done with some rows failed):
// one that stopped early (a typo, bad options, no server) would keep only the bytecode of its
// error path.
if (bundle) process.on("exit", (code) => (code === Exit.OK || code === Exit.ROWS_FAILED) && bundle.saveIfMissed());
const { runCli } = bundle?.exports ?? (await import("./run-cli.js"));

const code = await runCli(args, { handleSignals: true });
// Exit once stdout has drained (a pipe reader must get every line), even if a socket lingers.
process.stdout.write("", () => process.exit(code));
