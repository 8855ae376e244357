// The simulator in its own process, for the benchmarks: `vlmpipe sim-server` as the library
// starts it, plus a small IPC channel through which the bench asks "tell me when N more chat
// requests have completed, and how long that took from the first one's arrival". Timing on
// the server's side treats every client alike (vlmpipe, autocannon, promptfoo): process
// start-up, file set-up and finalising are not in the window; the server's own CPU is reported.
//
//   fork("bench/sim-proc.mjs", [JSON.stringify(simOptions)]) -> message {url}
//   child.send({ cmd: "window", n })                          -> message {seconds, completed, simCpuSeconds, startMs, endMs, tenthsMs}
//   child.send({ cmd: "first" })                              -> message {at}: wall-clock ms of the next request
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist");
const { startSimServer } = await import(pathToFileURL(path.join(dist, "server/sim/sim-server.js")).href);

const options = JSON.parse(process.argv[2] ?? "{}");
const sim = await startSimServer(options);
const completed = () => sim.stats.chat - sim.stats.inFlight;

process.on("message", (msg) => {
  if (msg.cmd === "stats") {
    process.send({ stats: { ...sim.stats }, cpu: process.cpuUsage() });
    return;
  }
  if (msg.cmd === "first") {
    const base = sim.stats.chat;
    const timer = setInterval(() => {
      if (sim.stats.chat === base) return;
      clearInterval(timer);
      process.send({ at: performance.timeOrigin + performance.now() });
    }, 2);
    return;
  }
  if (msg.cmd !== "window") return;
  // Polled every 5 ms: cheap next to the work, and fine enough for runs of seconds.
  const baseChat = sim.stats.chat;
  const baseDone = completed();
  const cpu0 = process.cpuUsage();
  let t0;
  // ms from the window's start at which each tenth of the n responses was in: the ramp-up.
  const tenths = [];
  const timer = setInterval(() => {
    const now = performance.now();
    if (t0 === undefined && sim.stats.chat > baseChat) t0 = now;
    while (t0 !== undefined && tenths.length < 10 && completed() - baseDone >= (msg.n * (tenths.length + 1)) / 10)
      tenths.push(now - t0);
    if (t0 !== undefined && completed() - baseDone >= msg.n) {
      clearInterval(timer);
      const cpu = process.cpuUsage(cpu0);
      const at = (t) => performance.timeOrigin + t;
      process.send({
        seconds: (now - t0) / 1000,
        completed: completed() - baseDone,
        simCpuSeconds: (cpu.user + cpu.system) / 1e6,
        // Wall-clock bounds (ms since the epoch), to read a client's CPU over the same window.
        startMs: at(t0),
        endMs: at(now),
        tenthsMs: tenths,
      });
    }
  }, 5);
});
process.on("SIGTERM", () => sim.close().then(() => process.exit(0)));
process.on("disconnect", () => sim.close().then(() => process.exit(0)));
process.send({ url: sim.url });
