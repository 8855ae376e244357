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

// A reader that went away (`vlmpipe eval ... | head`) fails stdout's writes with EPIPE, emitted as
// an 'error' event that, without a listener, ends the process with Node's stack and exit 1. Rows
// written to stdout stop the run (streamSink: exit 141); for the tables of eval and
// summarize_results it is noted here: the command finishes its files, then exits 141.
let readerGone = false;
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  readerGone = true;
});
const ran = await runCli(args, { handleSignals: true });
const code = readerGone && ran === Exit.OK ? Exit.BROKEN_PIPE : ran;
// Exit once stdout has drained (a pipe reader must get every line), even if a socket lingers.
process.stdout.write("", () => process.exit(code));
