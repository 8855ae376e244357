import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { endpointUrl } from "../../src/client/endpoint-url.js";
import { createTransport } from "../../src/client/transport.js";
import { normalizeServerAddress } from "../../src/run/server-address.js";
import { waitForServer } from "../../src/run/wait-for-server.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe("server addresses with a query or user info", () => {
  it("keeps the query of --server_address and puts the endpoint before it", () => {
    expect(normalizeServerAddress("http://h:8000/v1?api-version=2024-10-21")).toBe(
      "http://h:8000/v1?api-version=2024-10-21",
    );
    expect(normalizeServerAddress("h:8000?x=1")).toBe("http://h:8000/v1?x=1");
    expect(endpointUrl("http://h:8000/v1/?api-version=2", "chat/completions").href).toBe(
      "http://h:8000/v1/chat/completions?api-version=2",
    );
  });

  it("refuses a user name or password in the address, without repeating the password", () => {
    for (const addr of ["http://user:s3cret@h:8000/v1", "user:s3cret@h:8000"]) {
      let err: Error | undefined;
      try {
        normalizeServerAddress(addr);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).toMatch(/^the server address http:\/\/\*\*\*@h:8000\/(v1)? holds a user name or password/);
      expect(err?.message).not.toContain("s3cret");
    }
    expect(() =>
      createTransport({
        baseUrl: "http://u:s3cret@h/v1",
        connections: 1,
        idleTimeoutMs: 1000,
        responseTimeoutMs: 1000,
        totalTimeoutMs: 1000,
      }),
    ).toThrow(/holds a user name or password/);
  });

  it("sends the query with every request: the start-up check and each chat request", async () => {
    const seen: string[] = [];
    const srv = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify(
            req.method === "GET"
              ? { data: [{ id: "m" }] }
              : { choices: [{ index: 0, message: { content: "ok" }, finish_reason: "stop" }] },
          ),
        );
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    closers.push(() => {
      srv.closeAllConnections();
      srv.close();
    });
    const base = normalizeServerAddress(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1?api-version=7`);
    await waitForServer({ baseUrl: base, model: "m", waitSeconds: 5 });
    const t = createTransport({
      baseUrl: base,
      connections: 1,
      idleTimeoutMs: 5000,
      responseTimeoutMs: 5000,
      totalTimeoutMs: 5000,
      proxy: undefined,
    });
    const req = { model: "m", messages: [{ role: "user" as const, content: "q" }] };
    await t.chat(req);
    await t.chat(req);
    await t.close();
    expect(seen).toEqual([
      "GET /v1/models?api-version=7",
      "POST /v1/chat/completions?api-version=7",
      "POST /v1/chat/completions?api-version=7",
    ]);
  });
});
