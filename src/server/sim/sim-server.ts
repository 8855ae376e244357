/**
 * A simulator of vLLM's OpenAI-compatible server for tests, demos and dry runs: it checks
 * requests as vLLM does, answers in vLLM's JSON/SSE formats with a known accuracy, and
 * injects faults deterministically from (seed, request counter). It is never a model. A request
 * asking for a `Judgement: Yes|No` line is answered as an LLM judge (judge.ts).
 *
 *   const sim = await startSimServer({ answer_rows: rows, accuracy: 0.7 });
 *   // POST `${sim.url}/v1/chat/completions` ...
 *   await sim.close();
 */

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ErrorCodes, errorMessage, VlmError } from "../../errors.js";
import { createAnswerBook, loadAnswerRows } from "./answer-book.js";
import { type ComposedText, chooseAnswer, composeText, questionKey } from "./compose-answer.js";
import { prefixTokens } from "./continuation.js";
import { errorBody, SimRequestError } from "./error-body.js";
import { answerFaults, earlyFault } from "./faults.js";
import { buildGeneration } from "./generation.js";
import { readBody, Sleeper, sendJson } from "./http-io.js";
import { createImageChecker } from "./image-check.js";
import { composeJudgement, readJudgeRequest } from "./judge.js";
import { modelsListBody } from "./models-list.js";
import {
  FAULT_KEYS,
  type FaultOptions,
  type FaultPatch,
  type OptionNamer,
  parseFaultPatch,
  parseSimServerOptions,
  type SimServerOptions,
  type SimServerOptionsInput,
} from "./options.js";
import { createBodyParser } from "./parse-body.js";
import { type AnswerMeta, completionBody } from "./respond.js";
import { streamEvents } from "./sse.js";
import { faultyEvents, writeStream } from "./stream-writer.js";
import { type ChatRequest, validateChatRequest } from "./validate-request.js";

export type { FaultPatch, SimServerOptions, SimServerOptionsInput } from "./options.js";

export type SimServerStats = {
  /** Chat completion requests received. */
  chat: number;
  /** Chat requests hit by an injected fault (fail, drop, malformed, stream error, mid-stream drop). */
  failed: number;
  /** Chat requests refused by validation (4xx), as vLLM would. */
  rejected: number;
  inFlight: number;
  maxInFlight: number;
  /** Tokens of answer text sent in streams (cut streams included): the GPU work simulated. */
  tokensStreamed: number;
  /** Requests that continued a final assistant message (continue_final_message). */
  continued: number;
};

export type SimServer = {
  /** "http://127.0.0.1:PORT", without /v1. */
  url: string;
  port: number;
  /** The served model name. */
  model: string;
  /** Parsed chat request bodies, the last 10,000, when `record_requests` is on. */
  requests: unknown[];
  stats: SimServerStats;
  /**
   * Change fault options at runtime; unmentioned ones keep their value.
   * `fail_first: N` here fails the next N chat requests.
   */
  setFaults(patch: FaultPatch): void;
  /** Stops listening, ends open sockets and cuts pending delays short. */
  close(): Promise<void>;
};

const RECORD_MAX = 10_000;
const SAMPLE_COUNTERS_MAX = 100_000;

export async function startSimServer(input: SimServerOptionsInput = {}, nameOf?: OptionNamer): Promise<SimServer> {
  const opts: SimServerOptions = parseSimServerOptions(input, nameOf);
  const rows = [...(opts.answer_rows ?? []), ...(opts.answers ? await loadAnswerRows(opts.answers) : [])];
  const book = createAnswerBook(rows);
  const images = createImageChecker();
  const parseBody = createBodyParser();
  const sleeper = new Sleeper();
  const faults: FaultOptions = Object.fromEntries(FAULT_KEYS.map((k) => [k, opts[k]])) as FaultOptions;
  const stats: SimServerStats = {
    chat: 0,
    failed: 0,
    rejected: 0,
    inFlight: 0,
    maxInFlight: 0,
    tokensStreamed: 0,
    continued: 0,
  };
  const requests: unknown[] = [];
  const idPrefix = randomBytes(6).toString("hex");
  // Sampling without a seed: the k-th ask of a question gets draw k, so a fresh server
  // repeats a run exactly while repeated samples of one question still differ.
  const sampleCounters = new Map<string, number>();
  const validateCtx = {
    model: opts.model,
    maxModelLen: opts.max_model_len,
    limitImages: opts.limit_mm_per_prompt,
    images,
  };
  let counter = 0;
  // setFaults({fail_first: N}) fails the next N requests, not the first N since start.
  let failFirstFrom = 0;
  let closing = false;

  const sendError = (res: ServerResponse, status: number, message: string, headers?: Record<string, string>) =>
    sendJson(res, status, errorBody(opts.error_format, message, status), headers);

  function salt(cr: ChatRequest, key: string): string {
    if (cr.temperature === 0) return "";
    if (cr.seed !== undefined) return `s${cr.seed}`;
    const k = sampleCounters.get(key) ?? 0;
    if (sampleCounters.size >= SAMPLE_COUNTERS_MAX) sampleCounters.clear();
    sampleCounters.set(key, k + 1);
    return `n${k}`;
  }

  /** A judge request gets a verdict (judge.ts); any other request an answer from the book. */
  function answerText(cr: ChatRequest): ComposedText {
    const judging = cr.lastUserText === undefined ? undefined : readJudgeRequest(cr.lastUserText);
    if (judging !== undefined) {
      return composeJudgement(judging, {
        accuracy: opts.judge_accuracy,
        seed: opts.seed,
        salt: salt(cr, judging.key),
      });
    }
    const entry = book.find(cr.text);
    const choice = chooseAnswer({
      text: cr.text,
      entry,
      accuracy: opts.accuracy,
      seed: opts.seed,
      salt: salt(cr, questionKey(entry, cr.text)),
    });
    return composeText(choice, opts.seed, opts.answer_tokens);
  }

  async function chat(req: IncomingMessage, res: ServerResponse) {
    const n = counter++;
    stats.chat++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    res.once("close", () => stats.inFlight--);

    let raw: Buffer[];
    try {
      raw = await readBody(req);
    } catch {
      return; // the client went away
    }
    let body: unknown;
    let jsonError: string | undefined;
    try {
      body = parseBody(raw);
    } catch (e) {
      jsonError = errorMessage(e);
    }
    if (opts.record_requests && jsonError === undefined) {
      if (requests.length >= RECORD_MAX) requests.shift();
      requests.push(body);
    }

    if (opts.max_in_flight > 0 && stats.inFlight > opts.max_in_flight) {
      stats.rejected++;
      const headers: Record<string, string> =
        faults.retry_after !== undefined ? { "retry-after": String(faults.retry_after) } : {};
      sendError(
        res,
        503,
        `The server is busy: ${opts.max_in_flight} requests are already queued (max_in_flight).`,
        headers,
      );
      return;
    }
    const early = earlyFault(faults, opts.seed, n, n - failFirstFrom);
    if (early === "drop") {
      stats.failed++;
      res.socket?.destroy();
      return;
    }
    if (early === "fail") {
      stats.failed++;
      const headers: Record<string, string> =
        faults.retry_after !== undefined ? { "retry-after": String(faults.retry_after) } : {};
      const why = n - failFirstFrom < faults.fail_first ? "fail_first" : "fail_rate";
      sendError(res, faults.fail_status, `Simulated failure (${why}); try again later.`, headers);
      return;
    }
    if (jsonError !== undefined) {
      stats.rejected++;
      sendError(res, 400, `Invalid JSON in the request body: ${jsonError}`);
      return;
    }

    let cr: ChatRequest;
    try {
      cr = await validateChatRequest(body, validateCtx);
    } catch (e) {
      if (e instanceof SimRequestError) {
        stats.rejected++;
        sendError(res, e.status, e.message);
      } else {
        sendError(res, 500, `Simulator error: ${errorMessage(e)}`);
      }
      return;
    }

    const text = answerText(cr);
    let skip = 0;
    if (cr.continuation !== undefined) {
      const k = opts.reject_continuation ? undefined : prefixTokens(text, opts.reasoning, cr.continuation);
      if (k === undefined) {
        stats.rejected++;
        const why = opts.reject_continuation
          ? "this server does not continue final messages (reject_continuation)"
          : "the final assistant message is not a prefix of the simulator's answer to this question";
        sendError(res, 400, `continue_final_message: ${why}.`);
        return;
      }
      stats.continued++;
      skip = k;
    }
    // Without max_tokens vLLM allows what is left of the context.
    const gen = buildGeneration(text, opts.reasoning, cr.maxTokens ?? opts.max_model_len - cr.promptTokens, skip);
    const meta: AnswerMeta = {
      id: `chatcmpl-${idPrefix}${n.toString(16).padStart(8, "0")}`,
      created: Math.floor(Date.now() / 1000),
      model: opts.model,
      promptTokens: cr.promptTokens,
      reasoningField: opts.reasoning_field,
    };
    const af = answerFaults(faults, opts.seed, n, cr.stream);
    if (af.dropMidStream || af.streamError || af.malformed) stats.failed++;

    if (cr.stream) {
      // Long answers come a token a chunk, as vLLM sends them (a client counts tokens by chunks).
      const perChunk = opts.answer_tokens > 0 ? 1 : 4;
      const all = streamEvents(gen, meta, cr.includeUsage, perChunk);
      const events = faultyEvents(all, meta, af, opts.error_format, faults.drop_at_token);
      // Events after the role chunk carry the tokens, perChunk each (the last group may hold fewer).
      let left = gen.completionTokens;
      await writeStream(res, events, {
        latencyMs: opts.latency_ms,
        eventDelayMs: opts.token_delay_ms,
        stallMs: af.stall ? faults.stall_ms : 0,
        destroyAfter: af.dropMidStream,
        sleeper,
        isClosing: () => closing,
        onEvent: (i) => {
          if (i === 0 || left === 0) return;
          const n = Math.min(left, perChunk);
          left -= n;
          stats.tokensStreamed += n;
        },
      });
      return;
    }
    await sleeper.sleep(opts.latency_ms);
    if (af.malformed) {
      // A 200 whose body is cut off mid-JSON, as a crashed proxy might leave it.
      sendJson(res, 200, `{"id":"${meta.id}","object":"chat.completion","choices":[{"index":0,"message":`);
      return;
    }
    sendJson(res, 200, completionBody(gen, meta));
  }

  const modelsBody = modelsListBody(opts.model, opts.max_model_len, idPrefix);

  const routes: Record<string, Record<string, (req: IncomingMessage, res: ServerResponse) => unknown>> = {
    "/health": {
      GET: (_req, res) => {
        res.writeHead(200, { "content-length": 0 });
        res.end();
      },
    },
    "/v1/models": { GET: (_req, res) => sendJson(res, 200, modelsBody) },
    "/version": { GET: (_req, res) => sendJson(res, 200, '{"version":"0.0.0-sim"}') },
    "/v1/chat/completions": { POST: chat },
  };

  const server = createServer((req, res) => {
    const q = req.url?.indexOf("?") ?? -1;
    const path = q < 0 ? (req.url ?? "/") : req.url!.slice(0, q);
    const route = routes[path];
    // FastAPI's answers for unknown paths and methods.
    if (!route) return sendJson(res, 404, '{"detail":"Not Found"}');
    const handler = route[req.method ?? "GET"];
    if (!handler) return sendJson(res, 405, '{"detail":"Method Not Allowed"}');
    Promise.resolve(handler(req, res)).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, `Simulator error: ${errorMessage(e)}`);
      else res.destroy();
    });
  });
  // Long streams and stalls are the point: no request timeout; idle keep-alive a little
  // longer than undici's default so pooled sockets are not closed under a client's feet.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) =>
      reject(
        new VlmError(ErrorCodes.SERVER_START, `sim-server: cannot listen on ${opts.host}:${opts.port}: ${e.message}`, {
          cause: e,
        }),
      );
    server.once("error", onError);
    server.listen(opts.port, opts.host, () => {
      server.off("error", onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const clientHost = opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host;
  const url = `http://${clientHost.includes(":") ? `[${clientHost}]` : clientHost}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    model: opts.model,
    requests,
    stats,
    setFaults(patch) {
      const p = parseFaultPatch(patch);
      if (p.fail_first !== undefined) failFirstFrom = counter;
      for (const k of FAULT_KEYS) if (p[k] !== undefined) (faults as Record<string, unknown>)[k] = p[k];
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        sleeper.stopAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
