import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package's root folder (holding package.json, prompts/, pipelines/, fixtures/): the
 * nearest folder above this module with a package.json. This module runs from src/, from
 * tsc's dist/ and from the bundled CLI's dist/cli/vlmpipe.cjs.
 */
export const packageRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, "..");
  }
}
