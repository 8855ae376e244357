/**
 * Process groups we started (model servers, local eval jobs), killed with SIGKILL if this
 * process exits while they still run: an uncaught error or a `process.exit` between start and
 * stop must not leave a GPU server behind. (Nothing can run on our own SIGKILL; a Slurm job's
 * end still reaps the whole job.)
 */
const groups = new Set<number>();
let hooked = false;

export function trackProcessGroup(pid: number): void {
  groups.add(pid);
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const pgid of groups) signalGroup(pgid, "SIGKILL");
  });
}

export function untrackProcessGroup(pid: number): void {
  groups.delete(pid);
}

/** Sends a signal to every process of the group led by `pgid`; false when none is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}
