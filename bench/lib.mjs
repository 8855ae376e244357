// Shared helpers of the benchmark scripts: child processes, peak RSS, the simulator in its own process.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const dist = path.join(root, "dist");
export const bin = path.join(dist, "cli", "main.js");

/** Starts `vlmpipe sim-server` in its own process (so its work and memory are not counted). */
export async function startSim(args = []) {
  const child = spawn(process.execPath, [bin, "sim-server", "--port", "0", "--model", "sim", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    let buf = "";
    child.stderr.on("data", (b) => {
      buf += b;
      const m = /listening on (http:\/\/[^\s]+)\/v1/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`sim-server exited ${code}: ${buf}`)));
  });
  return { url, stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }) };
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

/** Runs a command, sampling its peak RSS until it exits; resolves with wall seconds and peak MB. */
export function measure(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], ...opts });
    let peak = 0;
    let err = "";
    child.stderr.on("data", (b) => {
      err = (err + b).slice(-4000);
    });
    const timer = setInterval(() => {
      const p = peakRssMb(child.pid);
      if (p !== null) peak = Math.max(peak, p);
    }, 100);
    child.on("exit", (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`));
      else resolve({ seconds, peakMb: peak });
    });
  });
}

export function table(rows) {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padEnd(width[i])).join(" | ");
  return [line(cols), width.map((w) => "-".repeat(w)).join("-|-"), ...rows.map((r) => line(cols.map((c) => r[c])))].join("\n");
}
