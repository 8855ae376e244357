import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, open, readdir, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { UsageError } from "../errors.js";

/**
 * One writer per output: `<output>.lock`, created with O_EXCL, holds the owner's pid, host and
 * start time; its mtime is the owner's heartbeat. A second run refuses at once (exit 2). A lock
 * left by a killed run is taken over: at once on the same host when its pid is gone, and on any
 * host when its heartbeat is older than the stale limit (shared file systems, Slurm).
 *
 * Written here rather than with proper-lockfile: that library stores no owner (no pid, host or
 * start time to name in the refusal), cannot tell a dead pid on this host from a live one, and
 * its stale takeover (rmdir + mkdir) lets two takers both win (moxystudio/node-proper-lockfile#121).
 */

export type LockOwner = { pid: number; host: string; started: string; token: string; command?: string };

export type OutputLock = {
  file: string;
  owner: LockOwner;
  /** Removes the lock if it is still this run's; stops the heartbeat. */
  release(): Promise<void>;
};

export type LockOptions = {
  /** A lock whose heartbeat is older than this is a dead run's (default: $VLMPIPE_LOCK_STALE_SECONDS or 120). */
  staleSeconds?: number;
  /** Called when the heartbeat finds the lock gone or another run's (this run was stalled past the limit). */
  onLost?: (message: string) => void;
  log?: (line: string) => void;
};

/** 120 s: well above the 5 s heartbeat plus NFS attribute caching (acregmax, 60 s by default). */
export const DEFAULT_STALE_SECONDS = 120;

export function lockFileOf(output: string): string {
  return `${output}.lock`;
}

export function staleSecondsFromEnv(): number {
  const v = Number(process.env.VLMPIPE_LOCK_STALE_SECONDS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_STALE_SECONDS;
}

/** Takes the lock of `output` or throws a UsageError naming the run that holds it. */
export async function acquireOutputLock(output: string, opts: LockOptions = {}): Promise<OutputLock> {
  const file = lockFileOf(output);
  const staleSeconds = opts.staleSeconds ?? staleSecondsFromEnv();
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    token: randomUUID(),
    command: process.argv.slice(2, 3).join(" ") || undefined,
  };
  await removeDeadTemporaries(file);
  // A few rounds: a lock can vanish between our create and our read (its owner ended).
  for (let round = 0; round < 20; round++) {
    if (await createExclusive(file, `${JSON.stringify(owner)}\n`)) return held(file, owner, staleSeconds, opts);
    const current = await readLock(file);
    if (!current) continue;
    const stale = staleReason(current, staleSeconds);
    if (!stale) throw lockedError(output, file, current.owner);
    if (await removeStale(file, current, staleSeconds)) {
      const whose = current.owner ? describeOwner(current.owner) : "a half-written lock";
      opts.log?.(`vlmpipe: taking over ${file} (${whose}): ${stale}`);
      continue;
    }
    // Another run is taking the same stale lock over: let it finish, then look again.
    await new Promise((r) => setTimeout(r, 50));
  }
  const last = await readLock(file);
  throw lockedError(output, file, last?.owner);
}

type SeenLock = { owner?: LockOwner; id: string; mtimeMs: number };

/**
 * Creates `file` with `text` in it, or returns false when it exists. The text is written to a
 * file of this process's own first and then hard-linked into place (link fails on an existing
 * name, on local and NFS file systems alike), so the file never exists empty: a run killed at
 * any point leaves either no lock or a whole one naming its pid. Other errors (EACCES, EROFS...)
 * are thrown.
 */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const own = `${file}.tmp-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const fh = await open(own, "wx");
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(own, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    await unlink(own).catch(ignoreMissing);
  }
}

/** Removes `<lock>.tmp-<host>-<pid>-<id>` files (and claims' ones) left by runs of this host that died. */
async function removeDeadTemporaries(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  const host = hostname();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /\.tmp-(.+)-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (m && m[1] === host && !pidAlive(Number(m[2]))) await unlink(path.join(dir, name)).catch(ignoreMissing);
  }
}

/** The lock as it is now; undefined when it is gone. `id` names this very lock (its token). */
async function readLock(file: string): Promise<SeenLock | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    const owner = parseOwner(text);
    // A lock without readable content was cut off while being created: it is known by its inode.
    return { owner, id: owner?.token ?? `inode-${st.ino}`, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && typeof o.host === "string" && typeof o.token === "string") return o as LockOwner;
  } catch {
    // half-written: the owner died between creating and writing it
  }
  return undefined;
}

/** A lock file still empty this long after its creation was left by a run killed while creating it. */
const HALF_WRITTEN_SECONDS = 2;

/** Why a lock is a dead run's, or undefined when its owner may be alive. */
function staleReason(lock: SeenLock, staleSeconds: number): string | undefined {
  const o = lock.owner;
  if (o && o.host === hostname() && !pidAlive(o.pid)) return `its process is gone`;
  const age = (Date.now() - lock.mtimeMs) / 1000;
  // Created but never written: its run was killed in between (a live one writes at once).
  if (!o && age > HALF_WRITTEN_SECONDS) return `it was never written (its run died while creating it)`;
  // The heartbeat also covers a recycled pid on this host and owners on other hosts.
  if (age > staleSeconds) return `no heartbeat for ${Math.round(age)}s (limit ${staleSeconds}s)`;
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
  // A killed process nobody has reaped yet (a container's pid 1 may never reap) is dead too.
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "utf8");
    return st.slice(st.lastIndexOf(")") + 2, st.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * Removes one stale lock, race-free among takers: each claims that very lock with an O_EXCL
 * `<lock>.takeover-<id>`, so one taker wins; the winner checks the lock is still the one it
 * judged (no new lock can appear while it exists) and removes it. Taking over then goes
 * through the O_EXCL create like any start, so exactly one run ends up holding the lock.
 * A claim whose taker died (killed mid-takeover) is passed by claiming `<claim>.<its pid>`
 * instead: a dead taker never acts again, and each such name too has one creator.
 */
async function removeStale(file: string, seen: SeenLock, staleSeconds: number): Promise<boolean> {
  const me = `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`;
  const chain: string[] = [];
  let claim = `${file}.takeover-${seen.id}`;
  for (let depth = 0; ; depth++) {
    if (await createExclusive(claim, me)) break;
    const dead = depth < 8 ? await deadClaimer(claim, staleSeconds) : undefined;
    if (dead === undefined) return false; // a live taker has it (or it just ended): look again later
    chain.push(claim);
    claim = `${claim}.${dead}`;
  }
  try {
    const now = await readLock(file);
    if (now?.id !== seen.id || now.mtimeMs !== seen.mtimeMs) return false; // revived, or already replaced
    await unlink(file).catch(ignoreMissing);
    return true;
  } finally {
    await unlink(claim).catch(ignoreMissing);
    for (const c of chain) await unlink(c).catch(ignoreMissing);
  }
}

/** The pid (or "x" for a half-written claim) of a claim's taker when it is dead; undefined while it may act. */
async function deadClaimer(claim: string, staleSeconds: number): Promise<string | undefined> {
  const [text, st] = await Promise.all([readFile(claim, "utf8"), stat(claim)]).catch(() => [undefined, undefined]);
  if (text === undefined || st === undefined) return undefined;
  const ageMs = Date.now() - st.mtimeMs;
  let o: { pid?: unknown; host?: unknown } = {};
  try {
    o = JSON.parse(text) as typeof o;
  } catch {
    // created but not written: its taker was killed in between (a live one writes at once)
    return ageMs > 2000 ? "x" : undefined;
  }
  if (typeof o.pid !== "number") return ageMs > 2000 ? "x" : undefined;
  if (o.host === hostname() ? !pidAlive(o.pid) : ageMs > staleSeconds * 1000) return String(o.pid);
  return undefined;
}

function held(file: string, owner: LockOwner, staleSeconds: number, opts: LockOptions): OutputLock {
  let lost = false;
  // Every few seconds, a quarter of the stale limit at most: a live owner is never judged dead.
  const everyMs = Math.min(5, staleSeconds / 4) * 1000;
  const timer = setInterval(() => {
    void heartbeat().catch(() => undefined);
  }, everyMs);
  timer.unref();
  async function heartbeat(): Promise<void> {
    const now = await readLock(file);
    if (now?.owner?.token === owner.token) {
      const t = new Date();
      await utimes(file, t, t);
      return;
    }
    if (lost) return;
    lost = true;
    clearInterval(timer);
    const by = now?.owner ? `taken over by ${describeOwner(now.owner)}` : "removed";
    opts.onLost?.(`the lock ${file} was ${by} (this run was stalled for longer than ${staleSeconds}s); stopping`);
  }
  return {
    file,
    owner,
    async release() {
      clearInterval(timer);
      const now = await readLock(file).catch(() => undefined);
      if (now?.owner?.token === owner.token) await unlink(file).catch(ignoreMissing);
    },
  };
}

function describeOwner(o: LockOwner): string {
  return `pid ${o.pid} on host ${o.host}, since ${o.started}`;
}

function lockedError(output: string, file: string, owner: LockOwner | undefined): UsageError {
  const who = owner ? `another vlmpipe (${describeOwner(owner)})` : "another vlmpipe";
  return new UsageError(
    `${output} is being written by ${who}: wait for it to end, or stop it. ` +
      `If no such run is alive, delete ${file}`,
  );
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
}
