import { type AddressInfo, BlockList, createServer, type Server, type Socket } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { createTransport } from "../../src/client/transport.js";
import type { ProxySettings } from "../../src/net/proxy-env.js";

// Answers as HTTP stacks other than vLLM's uvicorn send them, from a raw loopback server, read
// on both of the transport's paths: vlmpipe's own pool (plain http) and undici (the path of
// https and proxied servers; here plain http through a "proxy" that is the server itself,
// which answers the forward request as the server would).

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Where an answer's pieces end the connection (the server closes its side). */
const CLOSE = Symbol("close");
type Wire = Array<string | Buffer | typeof CLOSE>;

/** A raw server answering each request with `answer(n)`'s pieces, written apart, or a byte at a time. */
async function rawServer(
  answer: (n: number) => Wire,
  bytewise: boolean,
): Promise<{ port: number; requests: () => number }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.setNoDelay(true);
    s.on("error", () => {});
    let buf = "";
    s.on("data", async (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.slice(end + 4 + length);
        for (const piece of answer(count++)) {
          if (piece === CLOSE) {
            s.end();
            return;
          }
          const b = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
          if (!bytewise) s.write(b);
          else
            for (const byte of b) {
              s.write(Buffer.from([byte]));
              await new Promise((r) => setImmediate(r));
            }
        }
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        srv.close(r);
      }),
  );
  return { port: (srv.address() as AddressInfo).port, requests: () => count };
}

const PATHS = ["own pool", "undici"] as const;

/** One request on a fresh transport, on the given path, as `OK {...}` or `ERR code retryable: message`. */
async function ask(path: (typeof PATHS)[number], port: number, stream: boolean): Promise<string> {
  const noProxy = { bypassAll: false, noProxy: [], ranges: new BlockList() };
  const proxy: ProxySettings = path === "undici" ? { ...noProxy, http: new URL(`http://127.0.0.1:${port}`) } : noProxy;
  const t = createTransport({
    baseUrl: `http://127.0.0.1:${port}/v1`,
    connections: 1,
    idleTimeoutMs: 10_000,
    responseTimeoutMs: 10_000,
    totalTimeoutMs: 20_000,
    proxy,
  });
  cleanups.push(() => t.close());
  return t.chat({ model: "m", messages: [{ role: "user", content: "Q?" }], stream }).then(
    (r) => `OK ${JSON.stringify(r)}`,
    (e: { code: string; retryable: boolean; message: string }) =>
      `ERR ${e.code} ${e.retryable}: ${e.message.replace(/ \(POST http:\S+\)$/, "")}`,
  );
}

/** The verdicts of one answer over both paths, written whole and a byte at a time (one entry when all agree). */
async function verdicts(answer: (n: number) => Wire, stream: boolean): Promise<string[]> {
  const seen = new Set<string>();
  for (const path of PATHS)
    for (const bytewise of [false, true]) seen.add(await ask(path, (await rawServer(answer, bytewise)).port, stream));
  return [...seen];
}

const token = (text: string, finish?: string) =>
  `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : "null"}}]}\n\n`;
const STREAM = `${token("Hé")}${token("llo 😀")}${token("!", "stop")}data: [DONE]\n\n`;
const STREAMED = `OK ${JSON.stringify({ content: "Héllo 😀!", finishReason: "stop" })}`;
const COMPLETION = JSON.stringify({ choices: [{ message: { content: "Hé 😀" }, finish_reason: "stop" }] });
const ANSWERED = `OK ${JSON.stringify({ content: "Hé 😀", finishReason: "stop" })}`;
const SSE_HEAD = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n";

/** An event stream's head and body, chunked (a chunk extension and a trailer, as some servers send). */
const sse = (body: string): Wire => [
  `${SSE_HEAD}transfer-encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)};x=1\r\n`,
  body,
  "\r\n0\r\nx-trailer: t\r\n\r\n",
];

/** A head and a body with its length. */
const answer = (head: string, body: Buffer | string): Wire => [
  `${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n`,
  body,
];

describe("answers of other HTTP stacks, on both paths", () => {
  it("reads a stream however it is framed: CRLF, data: without its space, comments and other fields, a BOM, no [DONE]", async () => {
    const crlf = STREAM.replaceAll("\n", "\r\n");
    const bare = STREAM.replaceAll("data: ", "data:");
    const fields = `: ping\n\nretry: 3000\n\nevent: ping\n\nid: 7\n\n${STREAM.replaceAll("data: ", "id: 1\nevent: message\n: c\ndata: ")}`;
    const noDone = STREAM.replace("data: [DONE]\n\n", "");
    for (const body of [crlf, bare, fields, `\ufeff${STREAM}`, `\ufeff${crlf}`, noDone])
      expect(await verdicts(() => sse(body), true)).toEqual([STREAMED]);
    // HTTP/1.0, read to the socket's end: [DONE], then the server closes.
    const http10 = (): Wire => [`${SSE_HEAD.replace("1.1", "1.0")}\r\n`, STREAM, CLOSE];
    expect(await verdicts(http10, true)).toEqual([STREAMED]);
  });

  it("never takes a body cut short as an answer: it is retried", async () => {
    const json = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
    const half = COMPLETION.slice(0, 30);
    const n = Buffer.byteLength(COMPLETION);
    for (const wire of [
      [`${json}content-length: ${n}\r\n\r\n${half}`, CLOSE],
      [`${json}\r\n${half}`, CLOSE],
      [`${json}transfer-encoding: chunked\r\n\r\n${n.toString(16)}\r\n${COMPLETION}\r\n`, CLOSE],
      [`${json}content-length: 50\r\n\r\n`, CLOSE],
    ] as Wire[]) {
      for (const v of await verdicts(() => wire, false))
        expect(v).toMatch(/^ERR VLM_E_(CONNECTION|BAD_RESPONSE) true: /);
    }
    const cutStream = STREAM.slice(0, STREAM.indexOf("data: [DONE]") - 5);
    for (const v of await verdicts(() => [`${SSE_HEAD}\r\n`, cutStream, CLOSE], true))
      expect(v).toMatch(/^ERR VLM_E_(CONNECTION|BAD_RESPONSE) true: /);
  });

  it("fails a stream at an error event in the flat shape ({object: error}), classified by its code", async () => {
    const flat = (code: number, message: string) =>
      `data: ${JSON.stringify({ object: "error", message, type: "BadRequestError", param: null, code })}\n\n`;
    // It was read as a chunk without choices: the [DONE] after it made "Hé" the row's answer.
    expect(await verdicts(() => sse(`${token("Hé")}${flat(500, "engine died")}data: [DONE]\n\n`), true)).toEqual([
      "ERR VLM_E_HTTP true: error in stream: engine died",
    ]);
    const context =
      "This model's maximum context length is 50 tokens. However, you requested 80 tokens in the messages";
    expect(await verdicts(() => sse(`${flat(400, context)}data: [DONE]\n\n`), true)).toEqual([
      `ERR VLM_E_CONTEXT_LENGTH false: ${context}`,
    ]);
  });

  it("undoes a Content-Encoding sent unasked (gzip, deflate, br): JSON, a stream, an error's message", async () => {
    const json = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
    for (const [coding, encode] of [
      ["gzip", gzipSync],
      ["deflate", deflateSync],
      ["br", brotliCompressSync],
    ] as const) {
      expect(await verdicts(() => answer(`${json}content-encoding: ${coding}\r\n`, encode(COMPLETION)), false)).toEqual(
        [ANSWERED],
      );
    }
    // A stream compressed as a whole and sent chunked, as nginx's gzip does.
    const gz = gzipSync(STREAM);
    const chunked = `${gz.length.toString(16)}\r\n`;
    expect(
      await verdicts(
        () => [
          `${SSE_HEAD}content-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n${chunked}`,
          gz,
          "\r\n0\r\n\r\n",
        ],
        true,
      ),
    ).toEqual([STREAMED]);
    // vLLM's context-length 400, gzipped: still read as one (not retried, the row's finish_reason model_length).
    const error = JSON.stringify({
      object: "error",
      message: "This model's maximum context length is 50 tokens. However, you requested 80 tokens in the messages",
      code: 400,
    });
    const status = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n";
    expect((await verdicts(() => answer(status, gzipSync(error)), false))[0]).toMatch(
      /^ERR VLM_E_CONTEXT_LENGTH false/,
    );
  });

  it("fails a body that does not decode as its Content-Encoding (retried), or one it cannot undo (not retried)", async () => {
    const json = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
    const cut = gzipSync(COMPLETION).subarray(0, 20);
    expect(await verdicts(() => answer(`${json}content-encoding: gzip\r\n`, cut), false)).toEqual([
      "ERR VLM_E_BAD_RESPONSE true: the server's answer does not decode as its Content-Encoding gzip (unexpected end of file)",
    ]);
    expect(await verdicts(() => answer(`${json}content-encoding: zstd\r\n`, "(zstd)"), false)).toEqual([
      `ERR VLM_E_BAD_RESPONSE false: the server's answer has a Content-Encoding vlmpipe cannot decode: "zstd" (gzip, deflate and br are read); have the server or proxy send it unencoded`,
    ]);
  });
});
