// Times finalizeOutput, the end of every run (the async file's lines put in input order into
// the output file), in its own process, for bench/resume.mjs.
//
//   node bench/finalize-driver.mjs OUTPUT_FILE      (OUTPUT_FILE-async must exist)
// prints one JSON line: {rows, failed, seconds}
import path from "node:path";
import { pathToFileURL } from "node:url";
import { dist } from "./lib.mjs";

const { finalizeOutput, outputPaths } = await import(pathToFileURL(path.join(dist, "output/partial-output.js")).href);
const t0 = performance.now();
const r = await finalizeOutput(outputPaths(path.resolve(process.argv[2])));
process.stdout.write(JSON.stringify({ ...r, seconds: (performance.now() - t0) / 1000 }) + "\n");
