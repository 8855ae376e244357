import { spawn } from "node:child_process";
import type { IncomingHttpHeaders } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Http1Error, Http1Pool, type Http1Request, type RequestController } from "../../src/client/http1-pool.js";

// Every server here is a real loopback one: node:http for well-behaved answers, raw node:net
// sockets for the ones a well-behaved server would never send.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Raw = { url: string; sockets: Socket[]; requests: string[] };

/** A raw server: `onRequest(socket, n)` runs for each complete request head+body it reads (n counts per socket). */
async function rawServer(onRequest: (socket: Socket, n: number, text: string) => void): Promise<Raw> {
  const state: Raw = { url: "", sockets: [], requests: [] };
  const srv: Server = createServer((socket) => {
    state.sockets.push(socket);
    let buf = "";
    let n = 0;
    socket.on("error", () => {});
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const text = buf.slice(0, end + 4 + length);
        buf = buf.slice(end + 4 + length);
        state.requests.push(text);
        onRequest(socket, n++, text);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise((r) => {
        for (const s of state.sockets) s.destroy();
        srv.close(r);
      }),
  );
  state.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return state;
}

function pool(url: string, o: Partial<ConstructorParameters<typeof Http1Pool>[0]> = {}): Http1Pool {
  const p = new Http1Pool({ origin: url, connections: 2, headers: { "content-type": "application/json" }, ...o });
  cleanups.push(() => p.close());
  return p;
}

type Answer = { status: number; headers: IncomingHttpHeaders; body: string; starts: number[] };

/** Sends one request; resolves with the answer, rejects with the pool's error. */
function send(
  p: Http1Pool,
  body: string | Buffer[] = "{}",
  o: Partial<Http1Request> & { onController?: (c: RequestController) => void; onData?: (chunk: Buffer) => void } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const a: Answer = { status: 0, headers: {}, body: "", starts: [] };
    const length = typeof body === "string" ? Buffer.byteLength(body) : body.reduce((n, b) => n + b.length, 0);
    let errors = 0;
    p.dispatch(
      { path: "/v1/chat/completions", body, length, headersTimeout: 5000, bodyTimeout: 5000, ...o },
      {
        onRequestStart: (c) => o.onController?.(c),
        onResponseStart: (_c, status, headers) => {
          a.starts.push(status);
          a.status = status;
          a.headers = headers;
        },
        onResponseData: (_c, chunk) => {
          o.onData?.(chunk);
          chunks.push(Buffer.from(chunk));
        },
        onResponseEnd: () => {
          a.body = Buffer.concat(chunks).toString();
          resolve(a);
        },
        onResponseError: (_c, err) => {
          if (++errors > 1) throw new Error("onResponseError twice");
          reject(err);
        },
      },
    );
  });
}

const ok = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())));

describe("Http1Pool against a node:http server", () => {
  it("keeps sockets alive, holds at most `connections` of them, and answers queued requests in order", async () => {
    const seen: string[] = [];
    const sockets = new Set<unknown>();
    const srv = createHttpServer((req, res) => {
      sockets.add(req.socket);
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push(body);
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({ echo: body, path: req.url, host: req.headers.host, type: req.headers["content-type"] }),
        );
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    cleanups.push(
      () =>
        new Promise((r) => {
          srv.closeAllConnections();
          srv.close(r);
        }),
    );
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const p = pool(url, { connections: 1 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send(p, JSON.stringify({ i }))));
    expect(answers.map((a) => JSON.parse(a.body).echo)).toEqual(
      Array.from({ length: 20 }, (_, i) => JSON.stringify({ i })),
    );
    expect(seen).toEqual(answers.map((a) => JSON.parse(a.body).echo)); // one socket: the server saw them in the order sent
    expect(JSON.parse((answers[0] as Answer).body)).toMatchObject({
      path: "/v1/chat/completions",
      host: url.slice(7),
      type: "application/json",
    });
    expect(sockets.size).toBe(1);

    const wide = pool(url, { connections: 3 });
    sockets.clear();
    const more = await Promise.all(Array.from({ length: 30 }, (_, i) => send(wide, String(i))));
    expect(more.every((a) => a.status === 200)).toBe(true);
    expect(sockets.size).toBeGreaterThan(0);
    expect(sockets.size).toBeLessThanOrEqual(3);
  });

  it("sends a body given in pieces as one, with their total length", async () => {
    const raw = await rawServer((s, _n, text) => s.write(ok(text.slice(text.indexOf("\r\n\r\n") + 4))));
    const p = pool(raw.url);
    const a = await send(p, [Buffer.from('{"a":'), Buffer.from('"piece'), Buffer.from('s"}')]);
    expect(a.body).toBe('{"a":"pieces"}');
    expect(raw.requests[0]).toMatch(/^POST \/v1\/chat\/completions HTTP\/1\.1\r\n/);
    expect(raw.requests[0]).toContain("content-length: 14\r\n");
  });

  it("sends the pieces of requests started in one turn at its end: one aborted before then sends nothing", async () => {
    const raw = await rawServer((s, _n, text) => s.write(ok(text.slice(text.indexOf("\r\n\r\n") + 4))));
    const p = pool(raw.url, { connections: 3 });
    const image = Buffer.alloc(200_000, 0x41);
    const body = (i: number) => [Buffer.from(`{"i":${i},"x":"`), image, Buffer.from('"}')];
    // Three sockets connected and idle first, so nothing waits for a connect.
    await Promise.all([send(p, "{}"), send(p, "{}"), send(p, "{}")]);
    raw.requests.length = 0;
    let second: RequestController | undefined;
    const sent = [send(p, body(1)), send(p, body(2), { onController: (c) => (second = c) }), send(p, body(3))];
    second?.abort(new Error("not wanted"));
    const [a, b, c] = await Promise.allSettled(sent);
    expect(b).toMatchObject({ status: "rejected", reason: { message: "not wanted" } });
    expect(a).toMatchObject({ status: "fulfilled", value: { body: `{"i":1,"x":"${"A".repeat(200_000)}"}` } });
    expect(c).toMatchObject({ status: "fulfilled", value: { body: `{"i":3,"x":"${"A".repeat(200_000)}"}` } });
    expect(raw.requests.map((t) => /"i":(\d)/.exec(t)?.[1]).sort()).toEqual(["1", "3"]);
  });

  it("sends a text body as UTF-8, its length in bytes", async () => {
    // (The raw server reads latin1: the body's bytes, decoded here as UTF-8.)
    const raw = await rawServer((s, _n, text) =>
      s.write(ok(Buffer.from(text.slice(text.indexOf("\r\n\r\n") + 4), "latin1").toString())),
    );
    const p = pool(raw.url);
    const text = JSON.stringify({ q: "é 日本 🙂 \u2028" });
    const a = await send(p, text);
    expect(a.body).toBe(text);
    expect(raw.requests[0]).toContain(`content-length: ${Buffer.byteLength(text)}\r\n`);
  });

  it("refuses a header with a line break (no request splitting), https, and no sockets", () => {
    expect(
      () =>
        new Http1Pool({
          origin: "http://127.0.0.1:1",
          connections: 1,
          headers: { authorization: "Bearer x\r\nx-evil: 1" },
        }),
    ).toThrow(/line break/);
    expect(() => new Http1Pool({ origin: "https://127.0.0.1:1", connections: 1, headers: {} })).toThrow(/plain http/);
    expect(() => new Http1Pool({ origin: "http://127.0.0.1:1", connections: 0, headers: {} })).toThrow(/connections/);
  });
});

describe("Http1Pool's reading of answers", () => {
  it("reads a chunked answer that arrives a byte at a time, with chunk extensions and trailers", async () => {
    const chunk = (s: string, ext = "") => `${Buffer.byteLength(s).toString(16)}${ext}\r\n${s}\r\n`;
    const wire =
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n" +
      chunk("data: ", ";ext=1") +
      chunk('{"x":"héé"}') +
      "0\r\nx-trailer: t\r\n\r\n";
    const raw = await rawServer(async (s) => {
      for (const byte of Buffer.from(wire)) {
        s.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
    });
    const p = pool(raw.url);
    const a = await send(p);
    expect(a.body).toBe('data: {"x":"héé"}');
    expect(a.headers["content-type"]).toBe("text/event-stream");
    // The socket is kept: a second request goes on it.
    await send(p);
    expect(raw.sockets.length).toBe(1);
  });

  it("reads an answer with neither length nor chunks to the socket's end, then opens a new socket", async () => {
    const raw = await rawServer((s) => {
      s.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"to":"the end"}');
    });
    const p = pool(raw.url, { connections: 1 });
    expect((await send(p)).body).toBe('{"to":"the end"}');
    expect((await send(p)).body).toBe('{"to":"the end"}');
    expect(raw.sockets.length).toBe(2);
  });

  it("closes the socket after `connection: close` and goes on with a new one", async () => {
    const raw = await rawServer((s) => s.write(ok("{}", "connection: close\r\n")));
    const p = pool(raw.url, { connections: 1 });
    await send(p);
    await closed(raw.sockets[0] as Socket);
    await send(p);
    expect(raw.sockets.length).toBe(2);
  });

  it("passes over an informational 100 Continue to the answer after it", async () => {
    const raw = await rawServer((s) => s.write(`HTTP/1.1 100 Continue\r\n\r\n${ok('{"final":true}')}`));
    const a = await send(pool(raw.url));
    expect(a.starts).toEqual([100, 200]);
    expect(a.body).toBe('{"final":true}');
  });

  it("gives error answers with their headers (Retry-After) and keeps the socket", async () => {
    const raw = await rawServer((s, n) =>
      s.write(
        n === 0
          ? "HTTP/1.1 503 Service Unavailable\r\nretry-after: 2\r\nRetry-After: 3\r\ncontent-length: 4\r\n\r\nbusy"
          : ok("{}"),
      ),
    );
    const p = pool(raw.url, { connections: 1 });
    const a = await send(p);
    expect(a).toMatchObject({ status: 503, body: "busy" });
    expect(a.headers["retry-after"]).toBe("2, 3");
    expect((await send(p)).status).toBe(200);
    expect(raw.sockets.length).toBe(1);
  });

  it("fails an answer that is not HTTP with BAD_RESPONSE, and closes its socket", async () => {
    const raw = await rawServer((s) => s.write("SMTP ready\r\n\r\n"));
    const err = await send(pool(raw.url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Http1Error);
    expect(err).toMatchObject({ code: "BAD_RESPONSE" });
    await closed(raw.sockets[0] as Socket);
  });

  it("holds an answer's head to a fixed size, however TCP splits it", async () => {
    const limit = 512;
    // A head of exactly `size` bytes (status line, headers, blank line), then a 2-byte body.
    const answer = (size: number) => {
      const fixed = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-pad: \r\n\r\n";
      return `HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-pad: ${"p".repeat(size - fixed.length)}\r\n\r\n{}`;
    };
    for (const [size, fits] of [
      [limit, true],
      [limit + 1, false],
    ] as const) {
      const text = answer(size);
      let split = 0;
      // Each request's answer goes out in two writes, cut one byte further on each time.
      const raw = await rawServer((s) => {
        const at = ++split;
        s.setNoDelay(true); // no Nagle wait for the second write
        s.write(text.slice(0, at), "latin1");
        setImmediate(() => s.write(text.slice(at), "latin1"));
      });
      const p = pool(raw.url, { connections: 1, maxHeaderBytes: limit });
      const verdicts = new Set<string>();
      for (let cut = 1; cut < text.length; cut++) {
        const r = await send(p).then(
          (a) => `ok ${a.body}`,
          (e: Http1Error) => `${e.code}: ${e.message}`,
        );
        verdicts.add(r);
      }
      expect([...verdicts]).toEqual([
        fits ? "ok {}" : `BAD_RESPONSE: the server's answer has a head (status line and headers) over ${limit} bytes`,
      ]);
    }
  });

  it("refuses by default a head over Node's http.maxHeaderSize (16 KB), as undici does", async () => {
    const raw = await rawServer((s) => s.write(ok("{}", `x-pad: ${"p".repeat(20 * 1024)}\r\n`)));
    await expect(send(pool(raw.url))).rejects.toMatchObject({ code: "BAD_RESPONSE", message: /over 16384 bytes/ });
  });

  it("fails an answer cut off mid-body with SOCKET_CLOSED", async () => {
    const raw = await rawServer((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"half'));
    await expect(send(pool(raw.url))).rejects.toMatchObject({ code: "SOCKET_CLOSED" });
  });

  it("reports a refused connection with Node's code", async () => {
    const free = await rawServer(() => {});
    const url = free.url;
    await (cleanups.pop() as () => Promise<unknown>)(); // nothing listens there now
    await expect(send(pool(url))).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("Http1Pool and a kept-alive socket the server closes", () => {
  it("sends a request again on a fresh socket when the server closed the kept one before answering it", async () => {
    // Each socket answers its first request and drops the next one unanswered, as a server
    // does when its keep-alive timeout ends just as a request arrives.
    const raw = await rawServer((s, n) => (n === 0 ? s.write(ok(`{"socket":1}`)) : s.destroy()));
    const p = pool(raw.url, { connections: 1 });
    await send(p);
    expect((await send(p)).status).toBe(200);
    expect(raw.sockets.length).toBe(2);
    expect(raw.requests.length).toBe(3);
  });

  it("does not send it again when the socket was new: the error goes to the caller", async () => {
    const raw = await rawServer((s) => s.destroy());
    await expect(send(pool(raw.url))).rejects.toMatchObject({
      code: expect.stringMatching(/^(SOCKET_CLOSED|ECONNRESET)$/),
    });
    expect(raw.requests.length).toBe(1);
  });

  it("closes idle sockets after the keep-alive timeout, or a second before the server's Keep-Alive: timeout", async () => {
    const raw = await rawServer((s) => s.write(ok("{}")));
    await send(pool(raw.url, { keepAliveTimeoutMs: 50 }), "{}", { headersTimeout: 200, bodyTimeout: 200 });
    await closed(raw.sockets[0] as Socket);

    const hinted = await rawServer((s) => s.write(ok("{}", "keep-alive: timeout=1\r\n")));
    await send(pool(hinted.url, { keepAliveTimeoutMs: 60_000 }), "{}", { headersTimeout: 200, bodyTimeout: 200 });
    await closed(hinted.sockets[0] as Socket);
  });
});

describe("Http1Pool's idle sockets", () => {
  it("never hands a request a socket idle past its time, even between two sweeps", async () => {
    const raw = await rawServer((s) => s.write(ok("{}")));
    // Timeouts of 5 s: the sweep runs once a second; the socket is stale after 30 ms.
    const p = pool(raw.url, { connections: 1, keepAliveTimeoutMs: 30 });
    await send(p);
    await new Promise((r) => setTimeout(r, 100));
    await send(p);
    expect(raw.sockets.length).toBe(2);
    await closed(raw.sockets[0] as Socket);
  });
});

describe("Http1Pool's timeouts and aborts", () => {
  it("fails a request whose headers do not come in time with HEADERS_TIMEOUT", async () => {
    const raw = await rawServer(() => {});
    await expect(send(pool(raw.url), "{}", { headersTimeout: 100 })).rejects.toMatchObject({ code: "HEADERS_TIMEOUT" });
    await closed(raw.sockets[0] as Socket);
  });

  it("fails an answer that stalls mid-body with BODY_TIMEOUT", async () => {
    const raw = await rawServer((s) => s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n"));
    const got: string[] = [];
    const err = await send(pool(raw.url), "{}", { bodyTimeout: 100, onData: (c) => got.push(c.toString()) }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "BODY_TIMEOUT" });
    expect(got).toEqual(["hello"]);
  });

  it("aborts a request mid-answer: one error, its socket closed, the next request served", async () => {
    let part = 0;
    const raw = await rawServer((s, n) => {
      if (n > 0 || part++ > 0) s.write(ok("{}"));
      else s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
    });
    const p = pool(raw.url, { connections: 1 });
    let controller: RequestController | undefined;
    const first = send(p, "{}", {
      onController: (c) => (controller = c),
      onData: () => controller?.abort(new Error("enough")),
    });
    await expect(first).rejects.toThrow("enough");
    await closed(raw.sockets[0] as Socket);
    expect((await send(p)).status).toBe(200);
  });

  it("aborts a request still waiting for a socket without touching the one in flight", async () => {
    const hold: Socket[] = [];
    const raw = await rawServer((s) => hold.push(s));
    const p = pool(raw.url, { connections: 1 });
    const first = send(p, "1");
    let controller: RequestController | undefined;
    const second = send(p, "2", { onController: (c) => (controller = c) });
    controller?.abort(new Error("not needed"));
    await expect(second).rejects.toThrow("not needed");
    await new Promise((r) => setTimeout(r, 50));
    (hold[0] as Socket).write(ok('{"first":true}'));
    expect((await first).body).toBe('{"first":true}');
    expect(raw.requests.length).toBe(1); // the aborted one was never sent
  });

  it("turns a throw in the handler into that request's error and closes its socket", async () => {
    const raw = await rawServer((s) => s.write(ok('{"x":1}')));
    const err = await send(pool(raw.url), "{}", {
      onData: () => {
        throw new Error("not JSON");
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: "not JSON" });
    await closed(raw.sockets[0] as Socket);
  });
});

describe("Http1Pool's close", () => {
  it("waits for the requests in flight, closes the sockets, and refuses new requests", async () => {
    const hold: Socket[] = [];
    const raw = await rawServer((s) => hold.push(s));
    const p = pool(raw.url);
    const inFlight = send(p);
    await new Promise((r) => setTimeout(r, 50));
    let closedYet = false;
    const closing = p.close().then(() => (closedYet = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closedYet).toBe(false);
    (hold[0] as Socket).write(ok("{}"));
    expect((await inFlight).status).toBe(200);
    await closing;
    await closed(raw.sockets[0] as Socket);
    await expect(send(p)).rejects.toMatchObject({ code: "POOL_CLOSED" });
  });

  it("keeps no process alive with idle sockets (they are unref'd)", async () => {
    const raw = await rawServer((s) => s.write(ok('{"done":1}')));
    const dist = path.resolve(import.meta.dirname, "../../dist/client/http1-pool.js");
    const script = `
      const { Http1Pool } = await import(${JSON.stringify(dist)});
      const p = new Http1Pool({ origin: ${JSON.stringify(raw.url)}, connections: 1, headers: {}, keepAliveTimeoutMs: 600000 });
      p.dispatch({ path: "/", body: Buffer.from("{}"), length: 2, headersTimeout: 600000, bodyTimeout: 600000 }, {
        onRequestStart() {}, onResponseStart() {}, onResponseData(_c, d) { process.stdout.write(d); },
        onResponseEnd() {}, onResponseError(_c, e) { console.error(e); process.exitCode = 1; },
      });`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill(), 10_000);
    const code = await new Promise((r) => child.on("close", r));
    clearTimeout(timer);
    expect(code).toBe(0); // exited by itself, not killed
    expect(out).toBe('{"done":1}');
    expect(raw.sockets.length).toBe(1);
  });
});
