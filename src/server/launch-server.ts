import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import path from "node:path";
import { ErrorCodes, VlmError } from "../errors.js";
import { reachDirectly } from "../net/direct-origins.js";
import { getText } from "../net/get-text.js";
import { sleep } from "../util/sleep.js";
import { guardedCommand } from "./launch-guard.js";
import { groupAlive, signalGroup, trackProcessGroup, untrackProcessGroup } from "./launch-reaper.js";
import { quoteShell, redactSecrets } from "./launch-shell.js";

export type LaunchServerOptions = {
  /** The full argv, e.g. from serverCommand(). */
  command: string[];
  /** The port the command makes the server listen on. */
  port: number;
  /** Where the client reaches it (the server runs on this host). */
  host?: string;
  /** stdout and stderr of the server go here (appended). */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Seconds to wait for GET /health to answer 200 (weights load for minutes). */
  startTimeoutSeconds: number;
  /** Seconds between SIGTERM and SIGKILL when stopping. */
  stopGraceSeconds?: number;
  /** Aborts the wait for health (Ctrl-C while the weights load): the server is stopped. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** The server's name in messages, e.g. "vllm". */
  name?: string;
};

export type LaunchedServer = {
  /** http://host:port */
  url: string;
  /** The OpenAI base URL: http://host:port/v1 */
  baseUrl: string;
  port: number;
  pid: number;
  logFile: string;
  /** Settles when the server process has exited. */
  exited: Promise<ExitInfo>;
  /** SIGTERM to its process group, SIGKILL after the grace period; idempotent. */
  stop(): Promise<void>;
  /**
   * Settles, with a message naming the exit and the log's last lines, only if the server exits
   * after it was ready and without stop(): a crash during the run.
   */
  died: Promise<string>;
};

type ExitInfo = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

const LOG_TAIL_LINES = 25;

/**
 * Starts a model server as a child process in its own process group (vLLM forks workers; a
 * group signal reaches them all, and a Ctrl-C on the terminal does not kill the server under
 * the rows still in flight), under a guard that stops it should this process vanish (see
 * launch-guard.ts), logs to `logFile`, and waits for GET /health to answer 200.
 * Fails fast, with the log's last lines, when the process exits while loading; stops it when
 * the health wait times out or is aborted.
 */
export async function launchServer(o: LaunchServerOptions): Promise<LaunchedServer> {
  const name = o.name ?? path.basename(o.command[0] ?? "server");
  const host = o.host ?? "127.0.0.1";
  const url = `http://${host}:${o.port}`;
  const graceMs = (o.stopGraceSeconds ?? 30) * 1000;
  const log = o.log ?? (() => {});
  await mkdir(path.dirname(o.logFile), { recursive: true });

  const fd = openSync(o.logFile, "a");
  let child: ChildProcess;
  try {
    writeSync(
      fd,
      `\n===== ${new Date().toISOString()} vlmpipe: starting ${name}: ${quoteShell(redactSecrets(o.command))}\n`,
    );
    const guarded = guardedCommand(o.command, graceMs);
    child = spawn(guarded.argv[0] as string, guarded.argv.slice(1), {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...(o.env ?? process.env), ...guarded.env },
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
  });
  const pid = child.pid;
  if (pid === undefined) {
    const info = await exited;
    throw new VlmError(
      ErrorCodes.SERVER_START,
      `cannot start ${name} (\`${o.command[0]}\`): ${info.error?.message ?? "spawn failed"}. ` +
        "Install it, or name its command with VLMPIPE_VLLM_BIN / VLMPIPE_SGLANG_BIN or vllm_command / sglang_command in the cluster config",
    );
  }
  trackProcessGroup(pid);
  // The server runs on this machine: its health check and the run's requests go to it directly,
  // never through $http_proxy (a proxy elsewhere cannot reach this host's loopback), until stopped.
  const undoDirect = reachDirectly(url);
  let stopping: Promise<void> | undefined;
  let exitInfo: ExitInfo | undefined;
  let ready = false;
  let onDied: (message: string) => void = () => {};
  const died = new Promise<string>((resolve) => {
    onDied = resolve;
  });
  void exited.then(async (info) => {
    exitInfo = info;
    if (stopping) return;
    log(`vlmpipe: ${name} (pid ${pid}) exited unexpectedly (${describeExit(info)}); its log: ${o.logFile}`);
    if (ready) {
      onDied(
        `${name} (pid ${pid}) exited during the run (${describeExit(info)}); the last lines of its log (${o.logFile}):\n${await logTail(o.logFile)}`,
      );
    }
  });
  log(`vlmpipe: starting ${name} on port ${o.port} (pid ${pid}), log: ${o.logFile}`);

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exitInfo) {
        log(`vlmpipe: stopping ${name} (pid ${pid})`);
        signalGroup(pid, "SIGTERM");
        if (!(await settlesWithin(exited, graceMs))) {
          log(`vlmpipe: ${name} (pid ${pid}) did not stop within ${graceMs / 1000}s of SIGTERM: SIGKILL`);
          signalGroup(pid, "SIGKILL");
          await exited;
        }
      }
      // Workers of its group that outlive the leader get a moment, then SIGKILL.
      const until = Date.now() + Math.min(graceMs, 5000);
      while (groupAlive(pid) && Date.now() < until) await sleep(100);
      if (groupAlive(pid)) signalGroup(pid, "SIGKILL");
      untrackProcessGroup(pid);
      undoDirect();
      appendLine(
        o.logFile,
        `===== ${new Date().toISOString()} vlmpipe: ${name} stopped (${describeExit(exitInfo ?? (await exited))})`,
      );
    })();
    return stopping;
  };

  const server: LaunchedServer = {
    url,
    baseUrl: `${url}/v1`,
    port: o.port,
    pid,
    logFile: o.logFile,
    exited,
    stop,
    died,
  };
  try {
    await waitHealthy(server, o.startTimeoutSeconds, o.signal, () => exitInfo);
  } catch (e) {
    await stop();
    if (e instanceof StartExit && e.info.code === 127 && /vlmpipe-guard: cannot start/.test(await logTail(o.logFile))) {
      throw new VlmError(
        ErrorCodes.SERVER_START,
        `cannot start ${name} (\`${o.command[0]}\`):\n${await logTail(o.logFile, 3)}\n` +
          "Install it, or name its command with VLMPIPE_VLLM_BIN / VLMPIPE_SGLANG_BIN or vllm_command / sglang_command in the cluster config",
      );
    }
    if (e instanceof StartExit) {
      throw new VlmError(
        ErrorCodes.SERVER_START,
        `${name} exited (${describeExit(e.info)}) while starting; the last lines of its log (${o.logFile}):\n${await logTail(o.logFile)}`,
      );
    }
    if (e instanceof StartTimeout) {
      throw new VlmError(
        ErrorCodes.SERVER_START,
        `${name} did not answer GET ${url}/health within ${o.startTimeoutSeconds}s, so it was stopped ` +
          `(wait longer with --server_start_timeout). The last lines of its log (${o.logFile}):\n${await logTail(o.logFile)}`,
      );
    }
    throw e;
  }
  ready = true;
  log(`vlmpipe: ${name} is ready at ${server.baseUrl}`);
  return server;
}

class StartExit extends Error {
  constructor(readonly info: ExitInfo) {
    super("exited");
  }
}
class StartTimeout extends Error {}

/** Polls GET /health until 200; a closed port means "still loading" (vLLM opens it last). */
async function waitHealthy(
  server: LaunchedServer,
  timeoutSeconds: number,
  signal: AbortSignal | undefined,
  exitInfo: () => ExitInfo | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const abortedP = aborted(signal);
  for (let delay = 200; ; delay = Math.min(delay * 1.5, 2000)) {
    if (signal?.aborted) throw new VlmError(ErrorCodes.ABORTED, "interrupted while the model server was starting");
    const ended = exitInfo();
    if (ended) throw new StartExit(ended);
    if (await healthy(server.url, signal)) return;
    const ended2 = exitInfo();
    if (ended2) throw new StartExit(ended2);
    const left = deadline - Date.now();
    if (left <= 0) throw new StartTimeout();
    await Promise.race([sleep(Math.min(delay, left)), server.exited, abortedP]);
  }
}

async function healthy(url: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    const res = await getText(`${url}/health`, { signal, timeoutMs: 5000 });
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** The last lines of a log, indented, for an error message. */
export async function logTail(file: string, lines = LOG_TAIL_LINES): Promise<string> {
  try {
    const fh = await open(file, "r");
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      const all = buf
        .toString("utf8")
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("===== "));
      return (
        all
          .slice(-lines)
          .map((l) => `  | ${l}`)
          .join("\n") || "  (the log is empty)"
      );
    } finally {
      await fh.close();
    }
  } catch {
    return "  (no log)";
  }
}

function describeExit(info: ExitInfo): string {
  if (info.error) return info.error.message;
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}

function appendLine(file: string, line: string): void {
  try {
    const fd = openSync(file, "a");
    try {
      writeSync(fd, `${line}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the log is a convenience; stopping must not fail on it
  }
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((r) => signal.addEventListener("abort", () => r(), { once: true }));
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
