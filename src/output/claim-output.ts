import { UsageError } from "../errors.js";
import { checkOutputFile, fsCause } from "./check-output-path.js";
import { acquireOutputLock, lockFileOf, type OutputLock } from "./output-lock.js";

/**
 * Before any request or image work: the output path can be written (else one line and exit 2)
 * and this run is its only writer (its lock, `<output>.lock`). Stdout (`-`) needs neither.
 */
export async function claimOutput(
  output: string,
  opts: { log?: (line: string) => void; onLost?: (message: string) => void } = {},
): Promise<OutputLock | undefined> {
  if (output === "-") return undefined;
  await checkOutputFile(output);
  try {
    return await acquireOutputLock(output, opts);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // The folder passed the checks but the lock cannot be made there (a race, an odd file system).
    throw new UsageError(`cannot create ${lockFileOf(output)}: ${fsCause(e)}`);
  }
}
