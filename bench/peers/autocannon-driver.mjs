// autocannon in its own process (the raw HTTP load generator of bench/throughput.mjs):
// POSTs the given request bodies, one per line of a file, round-robin, to
// <url>/v1/chat/completions with `connections` in flight until `amount` responses are in.
//
//   node bench/peers/autocannon-driver.mjs URL BODIES.ndjson CONNECTIONS AMOUNT
// prints one JSON line: {requests, non2xx, errors, seconds}
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readBodies } from "../bodies.mjs";

const peers = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.peers");
const autocannon = createRequire(path.join(peers, "package.json"))("autocannon");

const [url, bodiesFile, connections, amount] = process.argv.slice(2);
const bodies = readBodies(bodiesFile);
let next = 0;

const result = await autocannon({
  url: `${url}/v1/chat/completions`,
  connections: Number(connections),
  pipelining: 1,
  amount: Number(amount),
  timeout: 120,
  // autocannon notices that its last response is in only at its next sample tick (1 s by
  // default), so its process ran on for up to a second after the work: whole-process
  // comparisons (bench/image-rows.mjs) counted that second against autocannon.
  sampleInt: 10,
  method: "POST",
  headers: { "content-type": "application/json" },
  // One body: sent as is every time (autocannon builds the request once). Several: each
  // request takes the next one, the same rows vlmpipe sends, in turn.
  ...(bodies.length === 1
    ? { body: bodies[0] }
    : { requests: [{ setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }] }),
});
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
  }) + "\n",
);
