import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

// https servers go through undici (plain http through vlmpipe's own pool). The client runs in
// a child process that trusts the fixture certificate (NODE_EXTRA_CA_CERTS is read at start-up).
const root = path.resolve(import.meta.dirname, "../..");
const tls = path.join(root, "fixtures", "tls");
const transportJs = path.join(root, "dist", "client", "transport.js");

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe("the transport over https", () => {
  it("sends streamed and plain requests to an https server, keeping the connection", async () => {
    const seen: Array<{ encrypted: boolean; auth?: string; body: unknown }> = [];
    const sockets = new Set<unknown>();
    const srv = createServer(
      { key: readFileSync(path.join(tls, "localhost.key")), cert: readFileSync(path.join(tls, "localhost.crt")) },
      (req, res) => {
        sockets.add(req.socket);
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
          const parsed = JSON.parse(body) as { stream?: boolean };
          seen.push({ encrypted: "encrypted" in req.socket, auth: req.headers.authorization, body: parsed });
          if (parsed.stream) {
            res.writeHead(200, { "content-type": "text/event-stream" });
            res.write('data: {"choices":[{"index":0,"delta":{"content":"Answer: "}}]}\n\n');
            res.end(
              'data: {"choices":[{"index":0,"delta":{"content":"B"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
            );
          } else {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(
              JSON.stringify({ choices: [{ index: 0, message: { content: "Answer: C" }, finish_reason: "stop" }] }),
            );
          }
        });
      },
    );
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    closers.push(() => {
      srv.closeAllConnections();
      srv.close();
    });
    const url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`;
    const script = `
      const { createTransport } = await import(${JSON.stringify(transportJs)});
      const t = createTransport({ baseUrl: ${JSON.stringify(url)}, apiKey: "k-123", connections: 1, idleTimeoutMs: 10000, responseTimeoutMs: 10000, totalTimeoutMs: 20000 });
      const req = (stream) => ({ model: "m", messages: [{ role: "user", content: "Q?" }], stream });
      const out = [await t.chat(req(true)), await t.chat(req(false))];
      await t.close();
      process.stdout.write(JSON.stringify(out));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tls, "localhost.crt") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill(), 20_000);
    const code = await new Promise((r) => child.on("close", r));
    clearTimeout(timer);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject([
      { content: "Answer: B", finishReason: "stop" },
      { content: "Answer: C", finishReason: "stop" },
    ]);
    expect(seen.map((s) => [s.encrypted, s.auth])).toEqual([
      [true, "Bearer k-123"],
      [true, "Bearer k-123"],
    ]);
    expect(sockets.size).toBe(1);
  });
});
