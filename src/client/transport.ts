import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { ErrorCodes, VlmError } from "../errors.js";
import { type ProxySettings, proxyFor, readProxyEnv } from "../net/proxy-env.js";
import { loadUndici, type Undici } from "../net/undici.js";
import { BodyDecoder } from "./content-coding.js";
import { endpointUrl } from "./endpoint-url.js";
import { httpError, transportError } from "./http-error.js";
import { Http1Pool, type RequestController, type ResponseHandler } from "./http1-pool.js";
import { parseCompletion } from "./parse-completion.js";
import { createBodyEncoder, type EncodedBody, FIRST_WRITE } from "./request-body.js";
import { StreamAccumulator } from "./stream-accumulator.js";
import type { ChatClient, ChatOptions, ChatRequest, ChatResult } from "./types.js";

export type TransportOptions = {
  /** The OpenAI base URL, e.g. http://127.0.0.1:8000/v1 */
  baseUrl: string;
  apiKey?: string;
  /** Sockets to keep open: at least the number of requests in flight. */
  connections: number;
  /**
   * ms a streamed answer may go without a byte once its body has begun (its first SSE event);
   * before that only the total deadline applies (see IDLE CLOCK below).
   */
  idleTimeoutMs: number;
  /** ms to wait for a non-streaming answer (headers and body). */
  responseTimeoutMs: number;
  /** ms a request may take in all. */
  totalTimeoutMs: number;
  /** Proxies (default: from the environment, see proxy-env.ts). */
  proxy?: ProxySettings;
};

type Result = Omit<ChatResult, "attempts">;

/**
 * One attempt per call, no retry (that is a separate layer): POST /chat/completions on a
 * keep-alive pool of sockets sized to the concurrency. Plain-http servers (vLLM, the
 * simulator) get vlmpipe's own lean HTTP/1.1 pool (./http1-pool.ts: at thousands of rows a
 * second the client's CPU per request is the limit, and it costs about two thirds of undici's);
 * https servers, and plain-http ones reached through a proxy (HTTP_PROXY and friends), get undici.
 *
 * Each request is one handler object that parses the answer as its bytes arrive (no
 * Readable body stream, async iterator or AbortSignal listener per request). Aborts (the
 * caller's signal, the total deadline) act on the pool's controller directly, without an
 * AbortController of our own per request.
 */
export function createTransport(opts: TransportOptions): ChatClient {
  const url = endpointUrl(opts.baseUrl, "chat/completions");
  const path = url.pathname + url.search;
  const headers: Record<string, string> = { "content-type": "application/json" };
  // The key goes to this header and nowhere else: never logged, never written out.
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  const deadlines = new Deadlines(opts.totalTimeoutMs, opts.idleTimeoutMs);
  // Named in HTTP and connection errors; origin + path only (no user:password, no query).
  const where = `POST ${url.origin}${url.pathname}`;
  const proxy = proxyFor(url, opts.proxy ?? readProxyEnv());
  const own = url.protocol === "http:" && !proxy;
  const send = own
    ? http1Sender(url, path, headers, opts.connections)
    : undiciSender(
        url,
        path,
        headers,
        loadUndici().then((u) => undiciDispatcher(u, url, opts.connections, proxy)),
      );
  // vlmpipe's pool writes a request's head and pieces in one corked writev: its first piece
  // needs no image bytes copied in front (request-body.ts, FIRST_WRITE; undici needs them).
  const bodies = createBodyEncoder(undefined, own ? 0 : FIRST_WRITE);

  function chat(request: ChatRequest, chatOpts: ChatOptions = {}): Promise<Result> {
    const signal = chatOpts.signal;
    return new Promise<Result>((resolve, reject) => {
      const stream = request.stream === true;
      const { body, length } = bodies.encode(request);
      if (signal?.aborted) throw abortError(signal.reason);
      const call = new Call(stream, resolve, reject, deadlines, where, chatOpts.onStream ? chatOpts : undefined);
      deadlines.add(call);
      if (signal) watchSignal(signal, call);
      // A stream's body has no timeout of its pool: its idle clock is ours (Deadlines). Its
      // headers do: vLLM sends them at once, queued or not, so a server that sends none within
      // ++server.idle_timeout has stopped answering.
      if (stream) send.dispatch(body, length, opts.idleTimeoutMs, NO_WAIT_LIMIT, call);
      else send.dispatch(body, length, opts.responseTimeoutMs, opts.responseTimeoutMs, call);
    });
  }

  return {
    chat: chat as ChatClient["chat"],
    close: () => send.close(),
  };
}

/**
 * IDLE CLOCK. vLLM answers a streamed request with its headers at once and sends the first
 * event only once the request is scheduled: at high concurrency a request can wait in the
 * server's queue far longer than ++server.idle_timeout with nothing wrong. Both pools (ours
 * and undici) start their body timeout at the headers, so they would abort such requests and
 * send them again to the back of the queue. A stream's idle clock therefore starts at the
 * first byte of its body, and is kept here for both pools alike; before it only the total
 * deadline (++inference.timeout, NeMo-Skills' 14400 s) applies.
 */
const NO_WAIT_LIMIT = 0;

/** How a transport hands a request to its pool of sockets. */
type Sender = {
  /** The pool's headers and body timeouts, ms; 0 for none. */
  dispatch(body: EncodedBody["body"], length: number, headersMs: number, bodyMs: number, call: Call): void;
  close(): Promise<void>;
};

function http1Sender(url: URL, path: string, headers: Record<string, string>, connections: number): Sender {
  const pool = new Http1Pool({ origin: url.origin, connections, headers });
  return {
    dispatch: (body, length, headersMs, bodyMs, call) => {
      const ms = (w: number) => (w === NO_WAIT_LIMIT ? Number.POSITIVE_INFINITY : w);
      pool.dispatch({ path, body, length, headersTimeout: ms(headersMs), bodyTimeout: ms(bodyMs) }, call);
    },
    close: () => pool.close(),
  };
}

/**
 * undici's pool for the server, or a proxy's agent (https tunnelled with CONNECT, plain http sent
 * to the proxy as forward requests). Idle sockets: the server's Keep-Alive hint less a second
 * when it sends one (undici's threshold), else 4 s: vLLM (uvicorn) closes idle connections
 * after 5 s without a hint, and a request sent on a socket as the server closes it fails.
 */
function undiciDispatcher(
  { Pool, ProxyAgent }: Undici,
  url: URL,
  connections: number,
  proxy: URL | undefined,
): Dispatcher {
  const keepAlive = { keepAliveTimeout: 4000, keepAliveTimeoutThreshold: 1000, keepAliveMaxTimeout: 600_000 };
  if (!proxy) return new Pool(url.origin, { connections, pipelining: 1, ...keepAlive });
  return new ProxyAgent({ uri: proxy.href, proxyTunnel: false, connections, pipelining: 1, ...keepAlive });
}

/** What a call that never reached a pool is told (nothing to abort). */
const NO_CONTROLLER: RequestController = { abort() {} };

/** undici is loaded on first use (net/undici.ts): requests made before it is ready wait for it. */
function undiciSender(url: URL, path: string, headers: Record<string, string>, loading: Promise<Dispatcher>): Sender {
  let pool: Dispatcher | undefined;
  void loading.then((p) => {
    pool = p;
  });
  const send = (
    pool: Dispatcher,
    body: EncodedBody["body"],
    length: number,
    headersMs: number,
    bodyMs: number,
    call: Call,
  ) =>
    pool.dispatch(
      {
        origin: url.origin,
        path,
        method: "POST",
        // Pieces (a body with images) are sent as they are: undici needs their total length.
        // undici documents Iterable bodies (docs/api/Dispatcher.md, DispatchOptions.body);
        // its TypeScript types do not list them yet.
        headers: Array.isArray(body) ? { ...headers, "content-length": String(length) } : headers,
        body: body as string | Buffer, // (pieces: see above)
        headersTimeout: headersMs, // (0: none, undici's own spelling)
        bodyTimeout: bodyMs,
      },
      call as Dispatcher.DispatchHandler,
    );
  return {
    dispatch(body, length, headersMs, bodyMs, call) {
      if (pool) send(pool, body, length, headersMs, bodyMs, call);
      else
        loading.then(
          (p) => send(p, body, length, headersMs, bodyMs, call),
          (e: unknown) => call.onResponseError(NO_CONTROLLER, e as Error),
        );
    },
    close: async () => (await loading).close(),
  };
}

/** One request's handler (Http1Pool's ResponseHandler, the shape of undici's DispatchHandler): collects or parses the answer and settles. */
class Call implements ResponseHandler {
  private controller: RequestController | null = null;
  private status = 0;
  private acc: StreamAccumulator | null = null;
  private chunks: Buffer[] | null = null;
  private bytes = 0;
  private retryAfter: string | string[] | undefined;
  /** Undoes the answer's Content-Encoding, when it has one (content-coding.ts). */
  private decoding: BodyDecoder | undefined;
  private settled = false;
  /** Pieces of the body read, and the count and time the idle sweep last saw (Deadlines.sweepIdle). */
  private pieces = 0;
  private piecesSeen = 0;
  private quietSince = 0;
  /** Set when we aborted it (deadline, caller's signal): the error to report. */
  private abortedWith: VlmError | null = null;
  /** The calls watching the same caller's signal, and neighbours there (see watchSignal). */
  watchers: SignalCalls | null = null;
  sigPrev: Call | null = null;
  sigNext: Call | null = null;
  /** Deadlines' list: ms (performance.now) after which the call is aborted; neighbours. */
  deadline = 0;
  prev: Call | null = null;
  next: Call | null = null;

  constructor(
    readonly stream: boolean,
    private readonly resolve: (r: Result) => void,
    private readonly reject: (e: unknown) => void,
    private readonly deadlines: Deadlines,
    private readonly where: string,
    /** Told of the stream's accumulator when a 200 stream starts (in-flight saves). */
    private readonly watcher?: ChatOptions,
  ) {}

  onRequestStart(controller: RequestController): void {
    // Aborted while waiting for a socket: stop it now that the pool can be told.
    if (this.abortedWith) controller.abort(this.abortedWith);
    else this.controller = controller;
  }

  onResponseStart(_c: RequestController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // informational (1xx): the answer comes after
    this.status = statusCode;
    // A 200 with a JSON body to a streamed request is read whole, as a non-streamed answer:
    // an error JSON (a server or proxy that sends its status in the body) or a whole
    // chat.completion (a server that ignores `stream`); read as SSE it would look cut off.
    if (statusCode === 200 && this.stream && !isJson(headers["content-type"])) {
      this.acc = new StreamAccumulator();
      this.watcher?.onStream?.(this.acc);
    } else {
      this.chunks = [];
      if (statusCode !== 200) this.retryAfter = headers["retry-after"];
    }
    const coding = headers["content-encoding"];
    if (coding !== undefined) {
      try {
        this.decoding = BodyDecoder.for(coding, this.takeDecoded, this.decodedEnd, (e) => this.abort(e));
      } catch (e) {
        this.abort(transportError(e));
      }
    }
  }

  onResponseData(_c: RequestController, chunk: Buffer): void {
    this.pieces++; // (a count, not a clock read per piece: the idle sweep compares counts)
    if (this.decoding) return this.decoding.write(chunk);
    this.take(chunk);
  }

  /** A piece of the body as sent, or as decoded. */
  private take(chunk: Buffer): void {
    // A throw here (an error event in the stream, a chunk that is not JSON) makes the pool
    // abort the request and call onResponseError with it.
    if (this.acc) this.acc.feed(chunk);
    else if (this.chunks) {
      // A copy: the pool reads every socket into one buffer it reuses.
      this.chunks.push(Buffer.from(chunk));
      this.bytes += chunk.length;
    }
  }

  /** Decoded bytes, after the pool's call that brought them: a throw has no pool to abort the request. */
  private readonly takeDecoded = (chunk: Buffer): void => {
    if (this.settled) return;
    try {
      this.take(chunk);
    } catch (e) {
      this.abort(transportError(e));
    }
  };

  private readonly decodedEnd = (): void => this.finish();

  onResponseEnd(): void {
    if (this.settled) return;
    // A decoded body ends once its last bytes are decoded (decodedEnd).
    if (this.decoding) this.decoding.end();
    else this.finish();
  }

  private finish(): void {
    if (this.settled) return;
    let result: Result;
    try {
      if (this.acc) result = this.acc.result();
      else {
        const text = bodyText(this.chunks ?? [], this.bytes);
        if (this.status !== 200) throw httpError(this.status, text, this.retryAfter);
        result = parseCompletion(text);
      }
    } catch (e) {
      this.fail(transportError(e));
      return;
    }
    this.settle();
    this.resolve(result);
  }

  onResponseError(_c: RequestController, err: Error): void {
    if (this.settled) return;
    const e = this.abortedWith ?? transportError(err);
    // A stream's only pool timeout is its headers' (chat): the server stopped answering at all.
    if (this.stream && e.code === ErrorCodes.TIMEOUT && !this.abortedWith) {
      this.fail(
        new VlmError(ErrorCodes.TIMEOUT, "the server sent no answer headers in time; see ++server.idle_timeout", {
          retryable: true,
          cause: err,
        }),
      );
      return;
    }
    this.fail(e);
  }

  /**
   * The idle sweep's look at a stream (see IDLE CLOCK): nothing before its body's first piece;
   * after it, aborted (and retried) once no piece came for `idleMs`. The quiet time is counted
   * from the sweep that first saw the last piece, so a stream is never cut early, and at most
   * about two sweeps (idleMs / 2) late.
   */
  checkIdle(now: number, idleMs: number): void {
    if (this.pieces === 0) return;
    if (this.pieces !== this.piecesSeen) {
      this.piecesSeen = this.pieces;
      this.quietSince = now;
    } else if (now - this.quietSince >= idleMs) {
      this.abort(
        new VlmError(
          ErrorCodes.TIMEOUT,
          `the stream sent nothing for ${idleMs / 1000} s after it had begun; see ++server.idle_timeout`,
          { retryable: true },
        ),
      );
    }
  }

  /** The deadline passed, the stream went idle, or the caller's signal fired. */
  abort(err: VlmError): void {
    if (this.settled) return;
    this.abortedWith = err;
    this.fail(err);
    this.controller?.abort(err);
  }

  private fail(e: VlmError): void {
    this.settle();
    this.reject(e.code === ErrorCodes.HTTP || e.code === ErrorCodes.CONNECTION ? withRequest(e, this.where) : e);
  }

  private settle(): void {
    this.settled = true;
    this.decoding?.destroy();
    this.deadlines.remove(this);
    if (this.watchers) unwatchSignal(this);
  }
}

/** Whether a content-type is JSON (`application/json; charset=utf-8` too). */
function isJson(h: string | string[] | undefined): boolean {
  const v = Array.isArray(h) ? h[0] : h;
  return v !== undefined && /^\s*application\/json\s*(;|$)/i.test(v);
}

/** The answer's text as undici's body.text() reads it: UTF-8, a leading BOM dropped. */
function bodyText(chunks: Buffer[], length: number): string {
  if (chunks.length === 0 || length === 0) return "";
  const buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
  const start = buf.length > 2 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  return buf.toString("utf8", start);
}

/** What an abort by the caller's signal reads as (an AbortSignal.timeout() as a timeout). */
function abortError(reason: unknown): VlmError {
  if ((reason as { name?: string } | undefined)?.name === "TimeoutError") return timeoutError();
  return new VlmError(ErrorCodes.ABORTED, "aborted", { retryable: false });
}

function timeoutError(): VlmError {
  return new VlmError(ErrorCodes.TIMEOUT, "the request took longer than ++inference.timeout", { retryable: false });
}

// The calls in flight per caller's signal, with one listener per signal: concurrentMap gives
// all its rows one signal, and hundreds of listeners on it would make every add and remove
// walk the list (and warn past 10). A list through the calls rather than a Set: young calls
// churning through a long-lived Set made every scavenge several times slower (measured).
const watched = new WeakMap<AbortSignal, SignalCalls>();

type SignalCalls = { first: Call | null };

function watchSignal(signal: AbortSignal, call: Call): void {
  let calls = watched.get(signal);
  if (!calls) {
    const list: SignalCalls = { first: null };
    calls = list;
    watched.set(signal, list);
    signal.addEventListener(
      "abort",
      () => {
        for (let c = list.first; c; c = list.first) c.abort(abortError(signal.reason));
      },
      { once: true },
    );
  }
  call.watchers = calls;
  call.sigNext = calls.first;
  if (calls.first) calls.first.sigPrev = call;
  calls.first = call;
}

function unwatchSignal(call: Call): void {
  const calls = call.watchers as SignalCalls;
  if (call.sigPrev) call.sigPrev.sigNext = call.sigNext;
  else calls.first = call.sigNext;
  if (call.sigNext) call.sigNext.sigPrev = call.sigPrev;
  call.sigPrev = call.sigNext = call.watchers = null;
}

/**
 * The total deadline of every call in flight, with one timer: all calls of a transport have
 * the same timeout, so they expire in the order they started and a list kept in that order
 * needs only its first entry watched: a few field writes per request instead of a timer set
 * and cleared thousands of times a second. The streams' idle clock (IDLE CLOCK above) is a
 * sweep over the same list every idleMs / 4 while calls are in flight. The timers are
 * unref'd: they keep no process alive.
 */
class Deadlines {
  private first: Call | null = null;
  private last: Call | null = null;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly idleMs: number,
  ) {}

  add(c: Call): void {
    c.deadline = performance.now() + this.ms;
    c.prev = this.last;
    c.next = null;
    if (this.last) this.last.next = c;
    else this.first = c;
    this.last = c;
    if (!this.timer) this.arm();
    if (!this.idleTimer && c.stream) {
      this.idleTimer = setInterval(this.sweepIdle, Math.max(10, Math.floor(this.idleMs / 4)));
      this.idleTimer.unref();
    }
  }

  private readonly sweepIdle = (): void => {
    if (!this.first) {
      clearInterval(this.idleTimer);
      this.idleTimer = undefined;
      return;
    }
    const now = performance.now();
    for (let c: Call | null = this.first, next: Call | null; c; c = next) {
      next = c.next; // (an abort takes c out of the list)
      if (c.stream) c.checkIdle(now, this.idleMs);
    }
  };

  remove(c: Call): void {
    if (c.prev) c.prev.next = c.next;
    else if (this.first === c) this.first = c.next;
    else return; // not in the list
    if (c.next) c.next.prev = c.prev;
    else this.last = c.prev;
    c.prev = c.next = null;
  }

  private arm(): void {
    // The timer may outlive the call it was set for; it then looks at the new first one.
    this.timer = this.first ? setTimeout(this.fire, Math.max(0, this.first.deadline - performance.now())) : undefined;
    this.timer?.unref();
  }

  private readonly fire = (): void => {
    const now = performance.now();
    for (let c = this.first; c && c.deadline <= now; c = this.first) {
      this.remove(c);
      c.abort(timeoutError());
    }
    this.arm();
  };
}

/**
 * The request an HTTP or connection error came from ("POST http://host:8000/v1/chat/completions");
 * a 404 there almost always means a --server_address without its /v1.
 */
export function withRequest(e: VlmError, where: string): VlmError {
  if (e.message.includes(where)) return e;
  e.message = `${e.message} (${where})`;
  if (e.status === 404) {
    e.message +=
      ": --server_address must be the server's OpenAI base URL, ending in /v1 (e.g. http://127.0.0.1:8000/v1)";
  }
  return e;
}
