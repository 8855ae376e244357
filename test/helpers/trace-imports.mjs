// `NODE_OPTIONS=--import=<this file>` with TRACE_IMPORTS=<file>: every bare package and `node:` builtin a
// process imports is appended to that file, one per line (module hooks run on their own thread, so
// they report through a file, not the process's stderr).
import { register } from "node:module";

register("./trace-imports-hooks.mjs", import.meta.url);
