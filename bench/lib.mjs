// Shared helpers of the benchmark scripts: child processes, peak RSS, the simulator in its own process.
import { fork, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const dist = path.join(root, "dist");
export const bin = path.join(dist, "cli", "main.js");

/**
 * The simulator in its own process with a timing channel (bench/sim-proc.mjs): `window(n)`
 * resolves once n more chat requests have completed, with the seconds from the first one's
 * arrival to the n-th completion and the simulator's CPU seconds over that window.
 */
export async function startSimProc(options = {}) {
  const child = fork(path.join(root, "bench", "sim-proc.mjs"), [JSON.stringify(options)], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const url = await new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m.url));
    child.once("exit", (code) => reject(new Error(`sim-proc exited ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    window(n) {
      const p = new Promise((resolve) => child.once("message", resolve));
      child.send({ cmd: "window", n });
      return p;
    },
    /** Resolves with the wall-clock time (ms, as performance.timeOrigin + now) of the next request. */
    firstRequest() {
      const p = new Promise((resolve) => child.once("message", (m) => resolve(m.at)));
      child.send({ cmd: "first" });
      return p;
    },
    /** The simulator's counters (chat, inFlight, tokensStreamed, continued, ...). */
    stats() {
      const p = new Promise((resolve) => child.once("message", (m) => resolve(m.stats)));
      child.send({ cmd: "stats" });
      return p;
    },
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once("exit", r);
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Fields of a /proc stat file (stat(5)) from field 3 on: the command name, in parentheses,
 * may hold spaces, so fields are counted from its closing parenthesis. f[0] is field 3.
 */
function statFields(file) {
  const st = readFileSync(file, "utf8");
  return st.slice(st.lastIndexOf(")") + 2).split(" ");
}

/**
 * CPU seconds (user + system) of this process's children that have exited and been waited
 * for (/proc/self/stat cutime + cstime): take it before and after a child to get that child's.
 */
export function childCpuSeconds() {
  const f = statFields("/proc/self/stat");
  // Fields 16 and 17 of stat(5).
  return (Number(f[13]) + Number(f[14])) / 100;
}

/**
 * CPU seconds (utime + stime) in a /proc stat file: `/proc/<pid>/stat` for a process (all its
 * threads), `/proc/<pid>/task/<tid>/stat` for one thread; null once it is gone.
 */
export function statCpuSeconds(file) {
  try {
    const f = statFields(file);
    // Fields 14 and 15 of stat(5).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Peak RSS (VmHWM) of a running process, in MB; null once it is gone. */
export function peakRssMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds a traced process used between two wall-clock times (ms since the epoch),
 * read off its trace (`[ms, cpuSeconds]` samples in time order) by linear interpolation.
 */
export function cpuBetween(trace, fromMs, toMs) {
  const at = (t) => {
    if (trace.length === 0) return 0;
    if (t <= trace[0][0]) return trace[0][1];
    for (let i = 1; i < trace.length; i++) {
      const [t1, c1] = trace[i];
      if (t <= t1) {
        const [t0, c0] = trace[i - 1];
        return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0);
      }
    }
    return trace[trace.length - 1][1];
  };
  return at(toMs) - at(fromMs);
}

/**
 * Runs a command, sampling its peak RSS until it exits; resolves with wall seconds, peak MB,
 * CPU seconds and its stdout (when `opts.stdout` is "pipe"; or given to `opts.onStdout` as it
 * comes). `opts.onStderr` sees all of stderr as it comes (only its last 4,000 characters are kept).
 * With `opts.traceCpu`, it also resolves with `cpuTrace`: the command's CPU seconds sampled
 * every 20 ms with their wall-clock time, for `cpuBetween` (start-up left out, for example).
 */
export function measure(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const cpu0 = childCpuSeconds();
    const { stdout = "ignore", allowFailure = false, onStderr, onStdout, traceCpu = false, ...spawnOpts } = opts;
    const startedMs = Date.now();
    const child = spawn(cmd, args, { stdio: ["ignore", stdout, "pipe"], ...spawnOpts });
    let peak = 0;
    let err = "";
    let out = "";
    child.stdout?.on("data", (b) => {
      if (onStdout) onStdout(b);
      else out += b;
    });
    child.stderr.on("data", (b) => {
      err = (err + b).slice(-4000);
      onStderr?.(b);
    });
    // VmHWM is the kernel's own high-water mark, so sampling it misses nothing but the
    // last interval before exit.
    const timer = setInterval(() => {
      const p = peakRssMb(child.pid);
      if (p !== null) peak = Math.max(peak, p);
    }, 50);
    const cpuTrace = traceCpu ? [[startedMs, 0]] : undefined;
    const tracer = traceCpu
      ? setInterval(() => {
          const c = statCpuSeconds(`/proc/${child.pid}/stat`);
          if (c !== null) cpuTrace.push([Date.now(), c]);
        }, 20)
      : undefined;
    child.on("close", (code) => {
      clearInterval(timer);
      clearInterval(tracer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpuSeconds = childCpuSeconds() - cpu0;
      // The last point is the exact total, at exit.
      cpuTrace?.push([Date.now(), cpuSeconds]);
      if (code !== 0 && !allowFailure) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`));
      else resolve({ seconds, peakMb: peak, cpuSeconds, cpuTrace, stdout: out, stderr: err, code });
    });
  });
}

/**
 * Rows/s of a simulator window of n answers: over the whole window, steady (the last 80% of
 * the rows: the first tenth is a client's ramp) and over the first tenth alone.
 */
export function windowRates(w, n) {
  // w.tenthsMs[i]: ms from the window's start until (i + 1) tenths of the n answers were in.
  const t = w.tenthsMs;
  return {
    rowsPerSecond: n / w.seconds,
    steadyRowsPerSecond: (0.8 * n) / ((t[9] - t[1]) / 1000),
    firstTenthRowsPerSecond: (0.1 * n) / (t[0] / 1000),
    // The last half alone: later still in the pass, long after start-up and the JIT's first
    // compiles (if those held a tool back, its second-half ratio would be the higher).
    secondHalfRowsPerSecond: (0.5 * n) / ((t[9] - t[4]) / 1000),
  };
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Rounds to `d` decimals (for the results file and tables). */
export function round(x, d = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return x;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

export function table(rows) {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padEnd(width[i])).join(" | ");
  return [
    line(cols),
    width.map((w) => "-".repeat(w)).join("-|-"),
    ...rows.map((r) => line(cols.map((c) => r[c]))),
  ].join("\n");
}

/** The prompt config every bench renders its rows with. */
export const PROMPT = "vlm/mmmu-pro";

/**
 * The arguments (after node's) of `vlmpipe generate` over the bench's rows against a server at
 * `url` (the simulator or a stub, serving model `sim`), quietly; VLMPIPE_BIN measures another
 * build. Flags a bench needs beyond these (`--overwrite`, `++...`) follow them.
 */
export function generateArgs({ input, output, url, concurrency }) {
  return [
    process.env.VLMPIPE_BIN ?? bin,
    "generate",
    "--input_file",
    input,
    "--output_file",
    output,
    "--prompt_config",
    PROMPT,
    "--model",
    "sim",
    "--server_address",
    `${url}/v1`,
    "--max_concurrent_requests",
    String(concurrency),
    "--quiet",
  ];
}
