// One client of bench/layers.mjs, in its own process: POSTs the given request bodies (one per
// line) to <url>/v1/chat/completions, `connections` in flight, until `amount` answers are in.
//   undici     undici's Pool.dispatch, the answer's bytes dropped (the client https servers get)
//   discard    vlmpipe's Http1Pool.dispatch, the answer's bytes dropped (the HTTP layer alone)
//   sse        the same, the answer fed to vlmpipe's StreamAccumulator (SSE and chunk parsing)
//   transport  vlmpipe's transport (createTransport: request encoding, handler, deadlines)
//
//   node bench/layers-driver.mjs URL BODIES.ndjson CONNECTIONS AMOUNT MODE
// prints one JSON line: {mode, seconds, cpu_ms_per_request}
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Pool } from "undici";
import { readBodies } from "./bodies.mjs";
import { dist } from "./lib.mjs";

const [url, bodiesFile, connections, amount, mode] = process.argv.slice(2);
const load = (file) => import(pathToFileURL(path.join(dist, file)).href);
const { StreamAccumulator } = await load("client/stream-accumulator.js");
const { createTransport } = await load("client/transport.js");
const { Http1Pool } = await load("client/http1-pool.js");

const bodies = readBodies(bodiesFile);
const n = Number(amount);
const c = Number(connections);
let sent = 0;
let done = 0;
const t0 = performance.now();
await new Promise((resolve, reject) => {
  const finished = () => {
    if (++done === n) resolve();
    else next();
  };
  let next;
  if (mode === "transport") {
    const t = createTransport({
      baseUrl: `${url}/v1`,
      connections: c,
      idleTimeoutMs: 60_000,
      responseTimeoutMs: 60_000,
      totalTimeoutMs: 600_000,
    });
    const requests = bodies.map((b) => JSON.parse(b.toString()));
    next = () => {
      if (sent < n) t.chat(requests[sent++ % requests.length]).then(finished, reject);
    };
  } else {
    const headers = { "content-type": "application/json" };
    const texts = bodies.map((b) => b.toString());
    const pool =
      mode === "undici"
        ? new Pool(url, { connections: c, pipelining: 1 })
        : new Http1Pool({ origin: url, connections: c, headers });
    next = () => {
      if (sent >= n) return;
      const i = sent++ % bodies.length;
      const body = bodies[i];
      let acc = null;
      const handler = {
        onRequestStart() {},
        onResponseStart(_c, status) {
          if (status !== 200) reject(new Error(`HTTP ${status}`));
          if (mode === "sse") acc = new StreamAccumulator();
        },
        onResponseData(_c, chunk) {
          acc?.feed(chunk);
        },
        onResponseEnd() {
          acc?.result();
          finished();
        },
        onResponseError(_c, e) {
          reject(e);
        },
      };
      if (mode === "undici")
        pool.dispatch({ origin: url, path: "/v1/chat/completions", method: "POST", headers, body }, handler);
      // As the transport sends a request without images: its JSON text, written with the head.
      else
        pool.dispatch(
          {
            path: "/v1/chat/completions",
            body: texts[i],
            length: body.length,
            headersTimeout: 60_000,
            bodyTimeout: 60_000,
          },
          handler,
        );
    };
  }
  for (let i = 0; i < c; i++) next();
});
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({
    mode,
    seconds: (performance.now() - t0) / 1000,
    cpu_ms_per_request: (cpu.user + cpu.system) / 1000 / n,
  }) + "\n",
);
process.exit(0);
