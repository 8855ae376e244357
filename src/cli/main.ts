#!/usr/bin/env node
import { runCli } from "./run-cli.js";

const code = await runCli(process.argv.slice(2), { handleSignals: true });
// Exit once stdout has drained (a pipe reader must get every line), even if a socket lingers.
process.stdout.write("", () => process.exit(code));
