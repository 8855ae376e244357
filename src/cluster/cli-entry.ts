import { existsSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import { packageRoot } from "../paths.js";

/**
 * The built CLI that jobs run (`node <this> eval_job ...`): the package's dist/cli/main.js,
 * whether this runs from the bundled CLI, from tsc's dist/ or from sources (tests).
 */
export function cliEntry(): string {
  const built = path.join(packageRoot, "dist", "cli", "main.js");
  if (existsSync(built)) return built;
  throw new UsageError(`cannot find vlmpipe's built CLI to run jobs with (${built}): run \`npm run build\``);
}
