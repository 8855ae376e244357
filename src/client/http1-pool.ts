import { type IncomingHttpHeaders, maxHeaderSize } from "node:http";
import net from "node:net";
import httpParserJs from "http-parser-js";
import { ErrorCodes, VlmError } from "../errors.js";

const { HTTPParser } = httpParserJs;
type Parser = InstanceType<typeof HTTPParser>;
/** What the parser's headers-complete callback (index 2, HTTPParser.kOnHeadersComplete) is given. */
type HeaderInfo = Parameters<Parser[2]>[0];

/** What a request's handler is told (the shape of undici's DispatchHandler, so one handler serves both). */
export interface ResponseHandler {
  onRequestStart(controller: RequestController): void;
  onResponseStart(controller: RequestController, statusCode: number, headers: IncomingHttpHeaders): void;
  /** Part of the body; a view of a buffer that is reused once this returns: copy what you keep. */
  onResponseData(controller: RequestController, chunk: Buffer): void;
  onResponseEnd(controller: RequestController, trailers: IncomingHttpHeaders): void;
  onResponseError(controller: RequestController, err: Error): void;
}

export interface RequestController {
  /** Stops the request: its socket is closed and the handler gets onResponseError(reason). */
  abort(reason: Error): void;
}

export type Http1PoolOptions = {
  /** http://host:port */
  origin: string;
  /** Sockets at most; more requests wait in order. */
  connections: number;
  /** Sent with every request (lower-case names); host and content-length are added. */
  headers: Record<string, string>;
  /** ms an idle socket is kept when the server does not say (Keep-Alive: timeout=N) how long it keeps it. */
  keepAliveTimeoutMs?: number;
  /** ms to wait for a socket to connect. */
  connectTimeoutMs?: number;
  /**
   * Bytes an answer's head (status line and headers) may take, however TCP splits it: Node's
   * http.maxHeaderSize (16 KB unless --max-http-header-size says otherwise), undici's limit too.
   */
  maxHeaderBytes?: number;
};

export type Http1Request = {
  path: string;
  /** JSON text (sent as UTF-8), one buffer, or pieces (text or bytes) sent one after another (a body with images). */
  body: string | Buffer | readonly (string | Buffer)[];
  /** The body's length in bytes. */
  length: number;
  /** ms from sending to the answer's headers (Infinity: no limit). */
  headersTimeout: number;
  /** ms from the headers to the body's first piece, and between two pieces (Infinity: no limit). */
  bodyTimeout: number;
};

/** A failure of the pool itself; `code` says which (Node's socket errors keep their own codes). */
export class Http1Error extends Error {
  constructor(
    readonly code:
      | "HEADERS_TIMEOUT"
      | "BODY_TIMEOUT"
      | "CONNECT_TIMEOUT"
      | "SOCKET_CLOSED"
      | "BAD_RESPONSE"
      | "POOL_CLOSED",
    message: string,
  ) {
    super(message);
    this.name = "Http1Error";
  }
}

/**
 * A keep-alive HTTP/1.1 client for plain-http endpoints (a vLLM server, the simulator): one
 * request per socket at a time, requests beyond `connections` queued in order.
 *
 * Why not undici here: at thousands of small answers a second the client's CPU per request
 * is the limit of a run, and undici's layers (request object, header validation, handler
 * wrappers, its WASM parser's copies) cost about 1.5 times what this does per request
 * (docs/performance.md, "Figures behind the code"; `node bench/layers.mjs` measures it). Parsing is http-parser-js's (chunked bodies, 1xx, bodies read to the
 * socket's end, header limits); what is ours is the socket pool and the request framing. HTTPS endpoints keep undici.
 *
 * Timeouts (headers, body, connect, idle sockets) are checked by one timer that runs while
 * sockets are open, rather than a timer per request.
 */
export class Http1Pool {
  private readonly port: number;
  private readonly hostname: string;
  private readonly headTail: string;
  private readonly keepAliveMs: number;
  private readonly connectMs: number;
  readonly maxHeaderBytes: number;
  private readonly all = new Set<Connection>();
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private readonly idle: Connection[] = [];
  /** Requests waiting for a socket, from `queueHead` on (no shift per request). */
  private queue: Array<Exchange | undefined> = [];
  private queueHead = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private tickMs = 1000;
  private closing: (() => void) | null = null;
  private closed: Promise<void> | null = null;

  constructor(private readonly opts: Http1PoolOptions) {
    const url = new URL(opts.origin);
    if (url.protocol !== "http:")
      throw new VlmError(ErrorCodes.INTERNAL, `Http1Pool speaks plain http, not ${url.protocol}`);
    if (!Number.isInteger(opts.connections) || opts.connections < 1)
      throw new VlmError(ErrorCodes.CONFIG, `connections must be a whole number >= 1, not ${opts.connections}`);
    this.hostname = url.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(url.port || 80);
    let tail = ` HTTP/1.1\r\nhost: ${url.host}\r\n`;
    for (const [k, v] of Object.entries(opts.headers)) {
      // A line break in a header would end it early and smuggle in another (request splitting).
      if (/[\r\n]/.test(k + v)) throw new VlmError(ErrorCodes.CONFIG, `header ${k} holds a line break`);
      tail += `${k}: ${v}\r\n`;
    }
    this.headTail = `${tail}content-length: `;
    this.keepAliveMs = opts.keepAliveTimeoutMs ?? 4000;
    this.connectMs = opts.connectTimeoutMs ?? 10_000;
    this.maxHeaderBytes = opts.maxHeaderBytes ?? maxHeaderSize;
  }

  dispatch(req: Http1Request, handler: ResponseHandler): void {
    const ex = new Exchange(this, req, handler);
    this.inFlight++;
    handler.onRequestStart(ex);
    if (ex.done) return; // aborted at once
    if (this.closed) return ex.fail(new Http1Error("POOL_CLOSED", "the client is closed"));
    const shortest = Math.min(req.headersTimeout, req.bodyTimeout);
    if (shortest < this.tickMs * 4) this.retick(Math.max(10, Math.floor(shortest / 4)));
    this.place(ex);
  }

  /** Waits for the requests in flight, then closes every socket. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = new Promise<void>((resolve) => {
        this.closing = resolve;
      });
      this.settleIfDone();
    }
    return this.closed;
  }

  /**
   * Sends a corked request's bytes at the end of this turn of the event loop, together with the
   * others started in it. Why: each writev of an image body copies ~100 KB or more through the
   * CPU's caches, so a writev between two rows' work left the next row's code and data cold;
   * the rows finished in one turn (a socket read often finishes several) now do their work
   * first and their writes after, back to back: 6-13% less main-thread CPU and 4-9% less wall
   * time on 20,000 rows over 20 ~100 KB images (three A/B runs, docs/performance.md). A request waits at most
   * until the turn's end, microseconds, while the run's other rows keep the server busy.
   * Text bodies go out at once: deferring them saved nothing measurable.
   */
  uncorkSoon(socket: net.Socket): void {
    this.corked.push(socket);
    if (this.corked.length === 1) setImmediate(this.uncorkAll);
  }

  private corked: net.Socket[] = [];
  private readonly uncorkAll = (): void => {
    const sockets = this.corked;
    this.corked = [];
    // A socket destroyed meanwhile has dropped its buffered writes; uncork is then a no-op.
    for (const s of sockets) s.uncork();
  };

  /** The request line and headers, up to the end of the head. */
  head(path: string, length: number): string {
    return `POST ${path}${this.headTail}${length}\r\n\r\n`;
  }

  /** An exchange ended (answered, failed or aborted): its place is free; a kept socket goes on. */
  finished(conn: Connection | null): void {
    this.inFlight--;
    if (conn) {
      const next = this.nextQueued();
      if (next) conn.start(next);
      else if (this.closed) conn.destroy();
      else {
        conn.idleSince = performance.now();
        conn.socket.unref(); // an idle pool keeps no process alive
        this.idle.push(conn);
      }
    }
    this.settleIfDone();
  }

  /** A request that met a stale keep-alive socket goes again, first in line. */
  resend(ex: Exchange): void {
    if (this.queueHead > 0) this.queue[--this.queueHead] = ex;
    else this.queue.unshift(ex);
  }

  /** A socket is gone: its place may go to a waiting request. */
  forget(conn: Connection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.nextQueued();
    if (next) this.place(next);
    this.settleIfDone();
  }

  private place(ex: Exchange): void {
    const conn = this.takeIdle() ?? (this.all.size < this.opts.connections ? this.connect() : undefined);
    if (conn) conn.start(ex);
    else this.queue.push(ex);
  }

  private nextQueued(): Exchange | undefined {
    while (this.queueHead < this.queue.length) {
      const ex = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead === this.queue.length) {
        this.queue = [];
        this.queueHead = 0;
      }
      if (ex && !ex.done) return ex; // aborted ones are skipped here rather than searched for
    }
    return undefined;
  }

  private takeIdle(): Connection | undefined {
    for (let conn = this.idle.pop(); conn; conn = this.idle.pop()) {
      // The sweep closes idle sockets only once a tick: one past its time is closed here
      // rather than handed a request the server may be closing it under.
      if (conn.stale(performance.now())) {
        conn.destroy();
        continue;
      }
      conn.socket.ref();
      return conn;
    }
    return undefined;
  }

  private connect(): Connection {
    let conn: Connection | undefined;
    const socket = net.connect({
      port: this.port,
      host: this.hostname,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      // Every socket reads into the pool's one buffer, handed straight to the parser: no
      // buffer allocated per read, no stream push and 'data' event (see ResponseHandler's
      // onResponseData: a chunk is valid during the call only).
      onread: {
        buffer: this.readBuffer,
        callback: (n: number, buf: Uint8Array) => {
          conn?.onData(buf as Buffer, n);
          return true;
        },
      },
    });
    conn = new Connection(this, socket, this.connectMs, this.keepAliveMs);
    this.all.add(conn);
    if (!this.timer) this.retick(this.tickMs);
    return conn;
  }

  private settleIfDone(): void {
    if (!this.closed || this.inFlight > 0) return;
    for (const conn of [...this.all]) conn.destroy();
    clearInterval(this.timer);
    this.timer = undefined;
    this.closing?.();
    this.closing = null;
  }

  private retick(ms: number): void {
    this.tickMs = ms;
    clearInterval(this.timer);
    this.timer = setInterval(this.sweep, ms).unref();
  }

  private readonly sweep = (): void => {
    if (this.all.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = performance.now();
    for (const conn of [...this.all]) conn.check(now);
  };
}

/** One request and its answer; the handler's controller too. */
class Exchange implements RequestController {
  done = false;
  conn: Connection | null = null;
  /** Sent again once already, after a kept-alive socket turned out closed. */
  resent = false;

  constructor(
    readonly pool: Http1Pool,
    readonly req: Http1Request,
    readonly handler: ResponseHandler,
  ) {}

  abort(reason: Error): void {
    if (this.done) return;
    const conn = this.conn;
    this.fail(reason);
    conn?.destroy(); // half an answer may be on it: it cannot carry another
  }

  /** Ends the request with an error, once. The socket it was on is the caller's to close. */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    if (this.conn) this.conn.exchange = null;
    this.conn = null;
    this.pool.finished(null);
    this.handler.onResponseError(this, err);
  }
}

/** One socket and its parser; it carries one exchange at a time. */
class Connection {
  exchange: Exchange | null = null;
  idleSince = 0;
  /** When the wait for the headers, or for the body's next bytes, times out (performance.now() ms). */
  private deadline = 0;
  private readonly connectDeadline: number;
  private connected = false;
  private closed = false;
  /** Set once the socket is ending: whatever completes now does not keep it. */
  private ending = false;
  /** Answers completed here: a request on a socket that served one may meet a stale close. */
  private served = 0;
  private gotBytes = false;
  /** The current answer's status: 0 until its headers are in, under 200 for an informational one. */
  private status = 0;
  private keepAlive = true;
  /** Bytes of the current answer's head read in earlier chunks, and where in this chunk the head starts. */
  private headBytes = 0;
  private headFrom = 0;
  private readonly parser: Parser;

  constructor(
    private readonly pool: Http1Pool,
    readonly socket: net.Socket,
    private readonly connectMs: number,
    private idleMs: number,
  ) {
    this.connectDeadline = performance.now() + connectMs;
    this.parser = new HTTPParser(HTTPParser.RESPONSE);
    // The parser counts a head's bytes only in the chunks that do not finish it, so its limit
    // would depend on how TCP splits the bytes: the head is measured here instead (onData, onHeaders).
    this.parser.maxHeaderSize = Number.MAX_SAFE_INTEGER;
    this.parser[HTTPParser.kOnHeadersComplete] = this.onHeaders;
    this.parser[HTTPParser.kOnBody] = this.onBody;
    this.parser[HTTPParser.kOnMessageComplete] = this.onComplete;
    socket.once("connect", () => {
      this.connected = true;
      // The headers' wait starts once the request could be sent.
      if (this.exchange) this.deadline = performance.now() + this.exchange.req.headersTimeout;
    });
    socket.on("end", () => this.onClose(null));
    socket.on("error", (e) => this.onClose(e));
    socket.on("close", () => this.onClose(null));
  }

  start(ex: Exchange): void {
    ex.conn = this;
    this.exchange = ex;
    this.gotBytes = false;
    this.status = 0;
    this.headBytes = this.headFrom = 0;
    const req = ex.req;
    if (this.connected) this.deadline = performance.now() + req.headersTimeout;
    const s = this.socket;
    // Text in one write: node encodes a short string on the stack and tries the write there
    // and then, where a Buffer body took a corked writev (see request-body.ts for figures).
    if (typeof req.body === "string") s.write(this.pool.head(req.path, req.length) + req.body);
    else {
      s.cork();
      const head = this.pool.head(req.path, req.length);
      if (Buffer.isBuffer(req.body)) {
        s.write(head, "latin1");
        s.write(req.body);
      } else {
        // A first piece of text goes with the head, in one string (the head is ASCII).
        const first = req.body[0];
        if (typeof first === "string") s.write(head + first);
        else {
          s.write(head, "latin1");
          if (first) s.write(first);
        }
        for (let i = 1; i < req.body.length; i++) s.write(req.body[i]!);
      }
      this.pool.uncorkSoon(s);
    }
  }

  /** The sweep's look: the connect, the exchange's phase, the idle socket's age. */
  check(now: number): void {
    if (this.closed) return;
    if (!this.connected) {
      if (now > this.connectDeadline)
        this.failWith(new Http1Error("CONNECT_TIMEOUT", `no connection to the server within ${this.connectMs} ms`));
    } else if (!this.exchange) {
      if (this.stale(now)) this.destroy();
    } else if (now > this.deadline) {
      const req = this.exchange.req;
      if (!this.inBody)
        this.failWith(new Http1Error("HEADERS_TIMEOUT", `no answer from the server within ${req.headersTimeout} ms`));
      else this.failWith(new Http1Error("BODY_TIMEOUT", `the server's answer stalled for ${req.bodyTimeout} ms`));
    }
  }

  /** The final answer's headers are in: its body is being read. */
  private get inBody(): boolean {
    return this.status >= 200;
  }

  /** Idle past the time it may be kept. */
  stale(now: number): boolean {
    return this.exchange === null && now - this.idleSince > this.idleMs;
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.exchange?.fail(new Http1Error("SOCKET_CLOSED", "the connection was closed"));
    this.socket.destroy();
    this.pool.forget(this);
  }

  private failWith(err: Error): void {
    this.exchange?.fail(err);
    this.destroy();
  }

  /** `n` bytes read into `buf` (the pool's read buffer, reused: nothing may keep a view of it). */
  onData(buf: Buffer, n: number): void {
    const ex = this.exchange;
    if (!ex) return this.destroy(); // bytes nobody asked for: the socket is out of step
    this.gotBytes = true;
    const inHead = !this.inBody;
    if (!inHead) this.deadline = performance.now() + ex.req.bodyTimeout;
    let ret: number | Error;
    try {
      ret = this.parser.execute(buf, 0, n);
    } catch (e) {
      // The handler threw (an error event in a stream, an answer that is not JSON).
      return this.failWith(e instanceof Error ? e : new Error(String(e)));
    }
    if (ret instanceof Error) return this.failWith(ret instanceof Http1Error ? ret : badResponse(ret));
    if (inHead && !this.inBody && this.exchange === ex) {
      // The head goes on in the next chunk.
      this.headBytes += n - this.headFrom;
      this.headFrom = 0;
      if (this.headBytes > this.pool.maxHeaderBytes) this.failWith(headTooLarge(this.pool.maxHeaderBytes));
    }
  }

  private onClose(err: Error | null): void {
    if (this.closed) return;
    this.ending = true;
    const ex = this.exchange;
    if (!ex) return this.destroy();
    if (err === null && this.inBody && readsToEnd(this.parser)) {
      // An answer with neither a length nor chunks ends with its socket.
      let ret: unknown; // finish() gives undefined or an Error, or throws
      try {
        ret = this.parser.finish();
      } catch (e) {
        ret = e instanceof Error ? e : new Error(String(e));
      }
      if (ret instanceof Error) return this.failWith(ret instanceof Http1Error ? ret : badResponse(ret));
      if (!this.exchange) return this.destroy();
    }
    if (!this.gotBytes && this.served > 0 && !ex.resent) {
      // The server closed a kept-alive socket as the request went out: nothing of it was
      // answered, so it goes again on a fresh socket instead of failing.
      ex.resent = true;
      ex.conn = null;
      this.exchange = null;
      this.pool.resend(ex);
      return this.destroy();
    }
    this.failWith(
      err ?? new Http1Error("SOCKET_CLOSED", "the server closed the connection before the answer was complete"),
    );
  }

  private readonly onHeaders = (info: HeaderInfo): void => {
    const ex = this.exchange;
    if (!ex) throw new Http1Error("BAD_RESPONSE", "an answer nobody asked for");
    // The head ended at the parser's offset in this chunk.
    const headSize = this.headBytes + parserOffset(this.parser) - this.headFrom;
    this.headBytes = 0;
    this.headFrom = parserOffset(this.parser);
    if (headSize > this.pool.maxHeaderBytes) throw headTooLarge(this.pool.maxHeaderBytes);
    const status = info.statusCode;
    this.status = status;
    const headers = headerObject(info.headers);
    if (status >= 200) {
      this.keepAlive = info.shouldKeepAlive;
      const hint = keepAliveSeconds(headers["keep-alive"]);
      // Closed a second before the server would close it (undici's habit), so no request meets that close.
      if (hint !== undefined) this.idleMs = Math.min(Math.max(0, hint * 1000 - 1000), 600_000);
      this.deadline = performance.now() + ex.req.bodyTimeout;
    } // else informational (100 Continue): the answer follows
    ex.handler.onResponseStart(ex, status, headers);
  };

  private readonly onBody = (buf: Buffer, start: number, len: number): void => {
    const ex = this.exchange;
    if (!ex || !this.inBody) return;
    ex.handler.onResponseData(ex, start === 0 && len === buf.length ? buf : buf.subarray(start, start + len));
  };

  private readonly onComplete = (): void => {
    const ex = this.exchange;
    if (!ex || !this.inBody) return; // an informational answer ends; the real one follows
    this.exchange = null;
    ex.conn = null;
    ex.done = true;
    this.served++;
    const reusable = this.keepAlive && !this.ending && !this.closed;
    try {
      ex.handler.onResponseEnd(ex, {});
    } catch {
      // The answer is complete; a handler that throws at its end has only itself to blame.
    }
    if (reusable) this.pool.finished(this);
    else {
      this.pool.finished(null);
      this.destroy();
    }
  };
}

/** http-parser-js's [name, value, ...] as Node's header object: lower-case names, repeated ones joined. */
function headerObject(raw: string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = (raw[i] as string).toLowerCase();
    const v = raw[i + 1] as string;
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (k === "set-cookie") out[k] = [...[prev].flat(), v];
    else out[k] = `${prev}, ${v}`;
  }
  return out;
}

/** Whether the parser reads the body until the socket ends (no length, no chunks): its state's name says. */
function readsToEnd(p: Parser): boolean {
  return (p as unknown as { state: string }).state === "BODY_RAW";
}

/** Where the parser is in the chunk it is executing (the byte after the head, in onHeaders). */
function parserOffset(p: Parser): number {
  return (p as unknown as { offset: number }).offset;
}

function headTooLarge(limit: number): Http1Error {
  return new Http1Error("BAD_RESPONSE", `the server's answer has a head (status line and headers) over ${limit} bytes`);
}

/** The seconds of `Keep-Alive: timeout=5, max=100`, if given. */
function keepAliveSeconds(h: string | string[] | undefined): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  const m = v ? /timeout=(\d+)/i.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

function badResponse(e: Error): Http1Error {
  const code = (e as { code?: string }).code;
  return new Http1Error(
    "BAD_RESPONSE",
    `the server's answer is not valid HTTP/1.1: ${e.message}${code ? ` (${code})` : ""}`,
  );
}
