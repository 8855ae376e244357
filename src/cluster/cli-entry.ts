import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.js";
import { packageRoot } from "../paths.js";

/**
 * The built CLI that jobs run (`node <this> eval_job ...`): the main.js beside this module
 * when running from dist/, else the package's dist/cli/main.js (running from sources, tests).
 */
export function cliEntry(): string {
  const beside = fileURLToPath(new URL("../cli/main.js", import.meta.url));
  if (existsSync(beside)) return beside;
  const built = path.join(packageRoot, "dist", "cli", "main.js");
  if (existsSync(built)) return built;
  throw new UsageError(`cannot find vlmpipe's built CLI to run jobs with (${built}): run \`npm run build\``);
}
