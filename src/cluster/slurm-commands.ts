import { execFile } from "node:child_process";
import { ErrorCodes, VlmError } from "../errors.js";

export type CommandResult = { code: number; stdout: string; stderr: string };
/** Runs a Slurm client command; tests pass their own. */
export type CommandRunner = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => Promise<CommandResult>;

export const runCommand: CommandRunner = (cmd, args, env) =>
  new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, timeout: 120_000, env: env ?? process.env }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      const code = e ? (typeof e.code === "number" ? e.code : e.code === "ENOENT" ? 127 : 1) : 0;
      resolve({
        code,
        stdout: String(stdout),
        stderr: e?.code === "ENOENT" ? `${cmd}: command not found` : String(stderr),
      });
    });
  });

/**
 * sbatch --parsable: prints `<jobid>` or `<jobid>;<cluster>`. The job gets `env` (sbatch
 * exports the submitter's environment by default: secrets travel there, never in scripts).
 */
export async function sbatch(run: CommandRunner, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run("sbatch", ["--parsable", ...args], env);
  const id = r.stdout.trim().split(";")[0] ?? "";
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    const hint = r.code === 127 ? " (is this a Slurm login node? sbatch is not on PATH)" : "";
    throw new VlmError(
      ErrorCodes.CONFIG,
      `sbatch ${args.join(" ")} failed (exit ${r.code})${hint}: ${(r.stderr || r.stdout).trim()}`,
    );
  }
  return id;
}

/** Ids of queued or running jobs with one of these names. */
export async function queuedByName(run: CommandRunner, names: string[]): Promise<string[]> {
  const r = await run("squeue", ["-h", "-o", "%i", "-n", names.join(",")]);
  if (r.code !== 0) return [];
  return r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

export type QueueEntry = { state: string; reason: string };

/**
 * The queue's view of these jobs, array tasks one per line (`123_4`). A job that has left
 * the queue is absent (Slurm answers "Invalid job id" when none of the ids is known any more);
 * null when squeue itself failed (the controller busy, say): ask again later.
 */
export async function queueStates(run: CommandRunner, ids: string[]): Promise<Map<string, QueueEntry> | null> {
  const out = new Map<string, QueueEntry>();
  const r = await run("squeue", ["-h", "-r", "-o", "%i|%T|%r", "-j", ids.join(",")]);
  if (r.code !== 0) return /invalid job id/i.test(r.stderr) ? out : null;
  for (const line of r.stdout.split("\n")) {
    const [id, state, reason] = line.trim().split("|");
    if (id && state) out.set(id, { state, reason: reason ?? "" });
  }
  return out;
}

export type FinalState = { state: string; exitCode: string; stdout?: string };

/**
 * Final states of finished jobs (array tasks as `123_4`): `scontrol show job` while the
 * controller still remembers them (MinJobAge), else sacct when accounting is on.
 */
export async function finalStates(run: CommandRunner, ids: string[]): Promise<Map<string, FinalState>> {
  const out = new Map<string, FinalState>();
  for (const id of ids) {
    const r = await run("scontrol", ["-o", "show", "job", id]);
    if (r.code !== 0) continue;
    for (const line of r.stdout.split("\n")) {
      const f = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S*)`).exec(line)?.[1];
      const jobId = f("JobId");
      const state = f("JobState");
      if (!jobId || !state) continue;
      const arrayJob = f("ArrayJobId");
      const task = f("ArrayTaskId");
      const key = arrayJob && task && /^\d+$/.test(task) ? `${arrayJob}_${task}` : jobId;
      out.set(key, { state, exitCode: f("ExitCode") ?? "", stdout: f("StdOut") });
    }
  }
  const missing = ids.filter((id) => ![...out.keys()].some((k) => k === id || k.startsWith(`${id}_`)));
  if (missing.length > 0) {
    const r = await run("sacct", ["-n", "-P", "-X", "-j", missing.join(","), "-o", "JobID,State,ExitCode"]);
    if (r.code === 0) {
      for (const line of r.stdout.split("\n")) {
        const [id, state, exitCode] = line.trim().split("|");
        if (id && state) out.set(id, { state: state.split(" ")[0] as string, exitCode: exitCode ?? "" });
      }
    }
  }
  return out;
}

export async function scancel(run: CommandRunner, ids: string[]): Promise<void> {
  if (ids.length > 0) await run("scancel", ids);
}
