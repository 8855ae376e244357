import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";

// vLLM's server (uvicorn) closes a connection idle for 5 s and says nothing about it (no
// Keep-Alive header). A client that keeps idle sockets longer sends some requests on sockets
// being closed under it; with retries off those rows fail. Bursts here are paced so that the
// sockets have been idle for 4.9-5.1 s, measured from the server's last answer (and one at
// 4.6 s first: a client keeping sockets past 4.5 s then reuses one, which the server sees,
// whether or not a close happens to meet a request in this run).

const tls = path.join(repoRoot, "fixtures", "tls");
const IDLE_CLOSE_MS = 5000;
const BURST = 16;
const GAPS_MS = [4600, 4900, 5000, 5100];

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

type Uvicorn = {
  url: string;
  answered: number;
  closedIdle: number;
  /** The longest a connection had been idle when a request came on it (ms). */
  longestReuseMs: number;
  onBurst: (() => void) | null;
};

async function uvicornLike(secure: boolean): Promise<Uvicorn> {
  const state: Uvicorn = { url: "", answered: 0, closedIdle: 0, longestReuseMs: 0, onBurst: null };
  const idle = new Map<Socket, NodeJS.Timeout>();
  const idleSince = new Map<Socket, number>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    clearTimeout(idle.get(req.socket));
    const since = idleSince.get(req.socket);
    if (since !== undefined) state.longestReuseMs = Math.max(state.longestReuseMs, performance.now() - since);
    req.resume();
    req.on("end", () => {
      const chat = req.method === "POST";
      const body = chat
        ? { choices: [{ index: 0, message: { role: "assistant", content: "Answer: B" }, finish_reason: "stop" }] }
        : { object: "list", data: [{ id: "sim" }] };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
      res.on("finish", () => {
        const socket = req.socket;
        idleSince.set(socket, performance.now());
        idle.set(
          socket,
          setTimeout(() => {
            state.closedIdle++;
            socket.destroy();
          }, IDLE_CLOSE_MS),
        );
        if (chat && ++state.answered % BURST === 0) state.onBurst?.();
      });
    });
  };
  const srv: Server = secure
    ? createHttpsServer(
        { key: readFileSync(path.join(tls, "localhost.key")), cert: readFileSync(path.join(tls, "localhost.crt")) },
        handler,
      )
    : createHttpServer(handler);
  // No Keep-Alive hint and no timer of Node's own: the idle close above is the only one.
  srv.keepAliveTimeout = 0;
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  closers.push(() => {
    for (const t of idle.values()) clearTimeout(t);
    srv.closeAllConnections();
    srv.close();
  });
  state.url = `${secure ? "https" : "http"}://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
  return state;
}

async function pacedRun(secure: boolean) {
  const server = await uvicornLike(secure);
  const child = spawnCli(
    [
      "generate",
      "--input_file",
      "-",
      "--output_file",
      "-",
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_address",
      server.url,
      "--max_concurrent_requests",
      String(BURST),
      "--quiet",
      "++server.max_retries=0",
      "++server.stream=false",
    ],
    { env: { NODE_EXTRA_CA_CERTS: path.join(tls, "localhost.crt"), HTTP_PROXY: "", HTTPS_PROXY: "", ALL_PROXY: "" } },
  );
  const done = waitExit(child);
  let row = 0;
  const gaps = [...GAPS_MS];
  // One burst, then one after each gap, counted from the server's last answer of the burst
  // before (or, should some of its rows fail and never be answered, from 3 s after it went).
  const burst = () => {
    const lines = Array.from({ length: BURST }, () =>
      JSON.stringify({ id: `q${row}`, problem: `Question ${row++}?`, image_path: null, expected_answer: "B" }),
    );
    child.stdin?.write(lines.join("\n") + "\n");
    const fallback = setTimeout(next, 3000);
    server.onBurst = () => {
      clearTimeout(fallback);
      next();
    };
  };
  const next = () => {
    server.onBurst = null;
    const gap = gaps.shift();
    if (gap === undefined) child.stdin?.end();
    else setTimeout(burst, gap);
  };
  burst();
  const r = await done;
  const rows = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { error?: unknown; generation?: string });
  return { r, rows, server };
}

describe("idle connections against a server that closes them at 5 s without saying so", () => {
  it("plain http: no row fails with bursts paced 4.6-5.1 s apart and retries off", { timeout: 60_000 }, async () => {
    const { r, rows, server } = await pacedRun(false);
    expect(r.stderr).not.toMatch(/failed: [1-9]/);
    expect(rows).toHaveLength(BURST * (GAPS_MS.length + 1));
    expect(rows.filter((x) => x.error)).toEqual([]);
    expect(server.answered).toBe(rows.length);
    // Whether or not a close met a request this time: no socket is kept near the server's limit.
    expect(server.longestReuseMs).toBeLessThan(IDLE_CLOSE_MS - 500);
    expect(r.code).toBe(0);
  });

  it("https (undici): no row fails with bursts paced 4.6-5.1 s apart and retries off", {
    timeout: 60_000,
  }, async () => {
    const { r, rows, server } = await pacedRun(true);
    expect(rows).toHaveLength(BURST * (GAPS_MS.length + 1));
    expect(rows.filter((x) => x.error)).toEqual([]);
    expect(server.answered).toBe(rows.length);
    // Whether or not a close met a request this time: no socket is kept near the server's limit.
    expect(server.longestReuseMs).toBeLessThan(IDLE_CLOSE_MS - 500);
    expect(r.code).toBe(0);
  });
});
