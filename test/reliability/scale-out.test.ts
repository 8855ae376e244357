import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { AdaptiveLimit } from "../../src/client/adaptive-limit.js";
import { type SimServer, type SimServerOptionsInput, startSimServer } from "../../src/server/sim/sim-server.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

let data: Awaited<ReturnType<typeof makeDataset>>;
const open: SimServer[] = [];
beforeAll(async () => {
  data = await makeDataset(await tempDir(), 60, { images: false });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function sim(opts: SimServerOptionsInput = {}) {
  const s = await startSimServer({ model: "sim", answer_rows: data.rows as never, ...opts });
  open.push(s);
  return s;
}
const gen = (out: string, servers: string[], extra: string[] = []) => [
  "generate",
  "--input_file",
  data.file,
  "--output_file",
  out,
  "--prompt_config",
  "vlm/mmmu-pro",
  "--model",
  "sim",
  ...servers.flatMap((u) => ["--server_address", `${u}/v1`]),
  "--progress_seconds",
  "0.2",
  "++server.backoff_ms=20",
  ...extra,
];

describe("adaptive concurrency", () => {
  it("halves on overload (once per burst) and grows back by about one per round", () => {
    const l = new AdaptiveLimit(64, 1, 1000);
    l.overloaded(10_000);
    l.overloaded(10_100); // same burst
    expect(l.limit).toBe(32);
    l.overloaded(11_500);
    expect(l.limit).toBe(16);
    for (let i = 0; i < 16; i++) l.succeeded();
    expect(l.limit).toBe(16);
    for (let i = 0; i < 20; i++) l.succeeded();
    expect(l.limit).toBe(18);
    for (let i = 0; i < 10_000; i++) l.succeeded();
    expect(l.limit).toBe(64);
  });

  it("lowers the number in flight when the server's queue is full, and still finishes every row", async () => {
    const s = await sim({ max_in_flight: 4, latency_ms: 40 });
    const out = path.join(await tempDir(), "o.jsonl");
    const r = await cli(gen(out, [s.url], ["--max_concurrent_requests", "32", "++server.max_retries=20"]));
    expect(r.code, r.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8"))).toHaveLength(60);
    expect(s.stats.rejected).toBeGreaterThan(0);
    // The limit shown in progress lines came down from 32.
    const limits = [...r.stderr.matchAll(/limit (\d+)\/32/g)].map((m) => Number(m[1]));
    expect(limits.length).toBeGreaterThan(0);
    expect(Math.min(...limits)).toBeLessThan(32);
  });
});

describe("several servers", () => {
  it("spreads requests over all of them", async () => {
    const a = await sim({ latency_ms: 10 });
    const b = await sim({ latency_ms: 10 });
    const out = path.join(await tempDir(), "o.jsonl");
    const r = await cli(gen(out, [a.url, b.url], ["--max_concurrent_requests", "8", "--quiet"]));
    expect(r.code, r.stderr).toBe(0);
    expect(a.stats.chat + b.stats.chat).toBe(60);
    expect(Math.min(a.stats.chat, b.stats.chat)).toBeGreaterThan(10);
  });

  it("takes a dead server out and finishes on the others", async () => {
    const a = await sim({ latency_ms: 20 });
    const b = await sim({ latency_ms: 20 });
    const out = path.join(await tempDir(), "o.jsonl");
    const run = cli(gen(out, [a.url, b.url], ["--max_concurrent_requests", "6", "--quiet"]));
    while (b.stats.chat < 5) await new Promise((r) => setTimeout(r, 5));
    await b.close();
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${b.url}/v1 is down`));
    const rows = parseLines(await readFile(out, "utf8"));
    expect(rows).toHaveLength(60);
    expect(rows.every((x) => typeof x.generation === "string" && !x.error)).toBe(true);
  });

  it("sends nothing to a server that failed the start check while the others serve", async () => {
    // Answers 502 to everything, the check included (a proxy in front of a dead server).
    let chats = 0;
    const bad = createServer((req, res) => {
      if (req.method === "POST") chats++;
      req.resume();
      res.writeHead(502).end("bad gateway");
    });
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    try {
      const a = await sim();
      const badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
      const out = path.join(await tempDir(), "o.jsonl");
      const r = await cli(
        gen(out, [badUrl, a.url], ["--quiet", "--max_concurrent_requests", "1", "++server.wait_timeout=0.3"]),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/going on with the other servers/);
      expect(parseLines(await readFile(out, "utf8")).every((x) => !x.error)).toBe(true);
      // It starts in the longest cooldown (30 s); before, it took every row, then one a cooldown.
      expect(chats).toBe(0);
      expect(a.stats.chat).toBe(60);
    } finally {
      bad.closeAllConnections();
      await new Promise((r) => bad.close(r));
    }
  });

  it("refuses a tokens_to_generate the server's context cannot hold, before any row", async () => {
    const a = await sim({ max_model_len: 4096 });
    const out = path.join(await tempDir(), "o.jsonl");
    const r = await cli(gen(out, [a.url], ["--quiet", "++inference.tokens_to_generate=4096"]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tokens_to_generate/);
    expect(a.stats.chat).toBe(0);
  });

  it("starts when one of the servers is not up, saying so", async () => {
    const a = await sim();
    const out = path.join(await tempDir(), "o.jsonl");
    const r = await cli(gen(out, [a.url, "http://127.0.0.1:9"], ["--quiet", "++server.wait_timeout=0.3"]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cannot reach the server at http:\/\/127\.0\.0\.1:9\/v1.*going on with the other servers/);
  });
});
