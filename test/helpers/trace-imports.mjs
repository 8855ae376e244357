// `NODE_OPTIONS=--import=<this file>` with TRACE_IMPORTS=<file>: every bare package and `node:` builtin a
// process imports or requires is appended to that file, one per line. ES module imports through
// module hooks (which run on their own thread, so they report through a file, not the process's
// stderr); `require` (the CLI is a CommonJS bundle) through CommonJS's loader, which has no hooks
// in Node 20: its internal `Module._load`, wrapped here for tests only.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";

register("./trace-imports-hooks.mjs", import.meta.url);

const BARE = /^(@[^/.][^/]*\/)?[^/.][^/:]*/;
const load = Module._load;
Module._load = function traced(request, ...rest) {
  if (process.env.TRACE_IMPORTS && BARE.test(request)) appendFileSync(process.env.TRACE_IMPORTS, `${request}\n`);
  return load.call(this, request, ...rest);
};
