/**
 * A guard between vlmpipe and the model server it starts: `node -e GUARD -- cmd args...`. It
 * runs the server as its child (same process group), passes SIGINT/SIGTERM/SIGHUP on and exits
 * as the server did; and when vlmpipe itself disappears without stopping the server (kill -9,
 * the OOM killer, a closed terminal's SIGHUP: nothing in vlmpipe runs then) it stops the server
 * (SIGTERM, SIGKILL to the group after the grace period), so no GPU server is left orphaned.
 * Inline code rather than a file, so it runs the same from src/ and dist/.
 */
export const GUARD_SCRIPT = String.raw`
const { spawn } = require("node:child_process");
const [cmd, ...args] = process.argv.slice(1);
const parent = Number(process.env.VLMPIPE_GUARD_PARENT);
const graceMs = Number(process.env.VLMPIPE_GUARD_GRACE_MS || 30000);
delete process.env.VLMPIPE_GUARD_PARENT;
delete process.env.VLMPIPE_GUARD_GRACE_MS;
const child = spawn(cmd, args, { stdio: "inherit" });
child.on("error", (e) => {
  process.stderr.write("vlmpipe-guard: cannot start " + cmd + ": " + e.message + "\n");
  process.exit(127);
});
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code === null ? 1 : code);
});
// The group's signals reach the server as well; the guard just waits for it to end.
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
let orphaned = false;
setInterval(() => {
  let alive = true;
  try { process.kill(parent, 0); } catch { alive = false; }
  if ((alive && process.ppid === parent) || orphaned) return;
  orphaned = true;
  process.stderr.write("vlmpipe-guard: vlmpipe (pid " + parent + ") is gone: stopping the server\n");
  child.kill("SIGTERM");
  setTimeout(() => process.kill(0, "SIGKILL"), graceMs);
}, 1000);
`;

/** The argv that runs `command` under the guard, watching this process. */
export function guardedCommand(
  command: readonly string[],
  graceMs: number,
): { argv: string[]; env: Record<string, string> } {
  return {
    argv: [process.execPath, "--input-type=commonjs", "-e", GUARD_SCRIPT, "--", ...command],
    env: { VLMPIPE_GUARD_PARENT: String(process.pid), VLMPIPE_GUARD_GRACE_MS: String(graceMs) },
  };
}
