import { createHash } from "node:crypto";
import { ErrorCodes, VlmError } from "../errors.js";
import type { Delta, InflightLog } from "../output/inflight-log.js";
import {
  type AnswerSoFar,
  continuationRequest,
  joinAnswer,
  type ReasoningMarkers,
  thinkingEnded,
} from "./continue-answer.js";
import { isContextError } from "./http-error.js";
import type { ChatClient, ChatOptions, ChatRequest, ChatResult, StreamDelta, StreamProgress } from "./types.js";

export type PartialAnswersOptions = {
  /** Where text in flight is saved; none (stdout output): retries still continue, nothing is saved. */
  log?: InflightLog;
  /** Text shorter than this (streamed tokens) is neither saved nor continued. */
  minTokens: number;
  markers: ReasoningMarkers;
  /** ms between saves (default 500; at least every 2 s is the requirement). */
  saveEveryMs?: number;
  note?: (line: string) => void;
};

/** What a row's answer adds to its output line. */
export type PartialResult = Omit<ChatResult, "attempts"> & {
  attempts: number;
  continuedAt: number[];
  restarted: boolean;
};

/**
 * Streamed answers in flight, kept so that they need not be decoded again: the text of each
 * is read from its stream as it arrives, saved to the in-flight log (periodically and at the
 * end), and a row that starts with saved text, or whose stream breaks and is retried,
 * continues from it with `continue_final_message` when it holds at least `minTokens`.
 * A server that refuses a continuation (HTTP 400) makes that row restart once from scratch
 * (recorded on the row) and ends continuations for the rest of the run. A continuation that
 * no longer fits the model's context restarts only its own row.
 */
export class PartialAnswers {
  private readonly rows = new Set<RowAnswer>();
  /** Failed rows: their last text is saved at the next save (they resume from it next run). */
  private retiring: RowAnswer[] = [];
  private dropped: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  /** Set when the server answered a continuation with 400. */
  refused = false;
  /** Rows that started from saved text, retries that continued, refused continuations, saves. */
  readonly counts = { resumed: 0, continuedRetries: 0, restarts: 0, savedRows: 0 };

  constructor(readonly opts: PartialAnswersOptions) {
    // Every half second: a kill -9 loses at most that much of each answer; a save costs only
    // the answers past min_tokens, and only what they streamed since the last one.
    this.timer = setInterval(() => void this.save(), opts.saveEveryMs ?? 500);
    this.timer.unref();
  }

  /** Begins a row's answer: its first request continues saved text when it can. */
  start(index: number, request: ChatRequest): RowAnswer {
    const row = new RowAnswer(this, index, request);
    this.rows.add(row);
    return row;
  }

  /** Appends what streamed since the last save, for every answer long enough to be worth it. */
  save(): Promise<void> {
    this.saving = this.saving.then(() => this.saveNow());
    return this.saving;
  }

  /** A final save; the log is closed (and removed when no row has text left in it). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.save();
    await this.opts.log?.close();
    const c = this.counts;
    if (c.resumed + c.continuedRetries + c.restarts > 0) {
      this.opts.note?.(
        `vlmpipe: answers continued instead of restarted: ${c.resumed} from saved text, ` +
          `${c.continuedRetries} on a retry` +
          (c.restarts ? `; ${c.restarts} restarted from scratch after a continuation answered 400` : ""),
      );
    }
  }

  /** Called by a row when it ends: finished rows leave no saved text, failed ones keep it. */
  ended(row: RowAnswer, ok: boolean): void {
    this.rows.delete(row);
    if (!ok) this.retiring.push(row);
    else if (row.hasSaved || this.opts.log?.has(row.index)) this.dropped.push(row.index);
  }

  drop(index: number): void {
    this.dropped.push(index);
  }

  private async saveNow(): Promise<void> {
    const log = this.opts.log;
    if (!log) {
      this.retiring = [];
      this.dropped = [];
      return;
    }
    const deltas: Delta[] = [];
    const retiring = this.retiring;
    this.retiring = [];
    for (const rows of [this.rows, retiring]) {
      for (const row of rows) {
        const d = row.delta();
        if (d) deltas.push(d);
      }
    }
    const dropped = this.dropped;
    this.dropped = [];
    if (deltas.length === 0 && dropped.length === 0) return;
    await log.append(deltas, dropped);
  }

  /** A continuation was refused: say so once; the run sends no more of them. */
  refuse(e: VlmError): void {
    if (this.refused) return;
    this.refused = true;
    this.opts.note?.(
      `vlmpipe: the server refused continue_final_message (${e.message}); rows restart from scratch from now on`,
    );
  }
}

/**
 * One row's answer across its attempts (and across runs, through the log). It holds the text
 * before the attempt in flight; that attempt's own text stays in its stream's accumulator and
 * goes to the log as it is taken, so a long answer is held once, not twice.
 *
 * The log always holds a prefix of (before + the attempt's text): saves take only what the
 * stream read since the last save, and a retry folds the failed attempt's whole text into
 * `before`, of which the log may then lack a tail (saved at the next save).
 */
export class RowAnswer implements ChatOptions {
  /** The row's ChatOptions are the row itself (no closures per row: thousands of rows a second). */
  signal: AbortSignal | undefined;
  stop: AbortSignal | undefined;
  /** Text and tokens before the attempt in flight (saved, or from failed attempts). */
  private before: AnswerSoFar = { content: "", reasoning: "", tokens: 0 };
  private stream: StreamProgress | undefined;
  /** How much of it the log holds (characters, tokens). */
  private saved = { cLen: 0, rLen: 0, tokens: 0 };
  /** The log's text is to be dropped (a restart): the next save starts the row afresh. */
  private reset = false;
  /** Whether the request in flight continues `before`. */
  private continuing = false;
  /** Cleared when a continuation of this row did not fit the model's context. */
  private mayContinue = true;
  private requests = 0;
  private digestValue: string | undefined;
  readonly continuedAt: number[] = [];
  restarted = false;

  constructor(
    private readonly owner: PartialAnswers,
    readonly index: number,
    private readonly original: ChatRequest,
  ) {
    const log = owner.opts.log;
    if (!log?.has(index)) return;
    const saved = log.take(index);
    if (!saved || saved.digest !== this.digest()) {
      owner.drop(index); // another request's text (the row or its settings changed)
      return;
    }
    this.before = { content: saved.content, reasoning: saved.reasoning, tokens: saved.tokens };
    this.saved = { cLen: saved.content.length, rLen: saved.reasoning.length, tokens: saved.tokens };
    this.continuedAt.push(...saved.continuedAt);
  }

  /** Whether the log holds (or is to drop) text of this row. */
  get hasSaved(): boolean {
    return this.saved.tokens > 0 || this.reset;
  }

  /**
   * Sends the row's request(s) and returns the whole answer. The first attempt goes without an
   * async function around it and its result (a fresh object per call) is completed in place:
   * one row in thousands a second, and a spread or an extra async frame per row cost ~15% of
   * the client's CPU on short streamed answers (docs/performance.md, "Figures behind the code").
   */
  chat(client: ChatClient, signal: AbortSignal, stop?: AbortSignal): Promise<PartialResult> {
    this.signal = signal;
    this.stop = stop;
    const request = this.nextRequest();
    return client.chat(request, this).then(
      (r) => this.finished(r, 0),
      (e: unknown) => this.afterFailure(e, client, signal, 0),
    );
  }

  /** The whole answer of a successful attempt; `earlier`: attempts of earlier requests. */
  private finished(r: ChatResult, earlier: number): PartialResult {
    const whole = (this.continuing ? joinAnswer(this.before, r, this.stream?.tokensSoFar() ?? 0) : r) as PartialResult;
    this.stream = undefined;
    this.owner.ended(this, true);
    whole.attempts = earlier + r.attempts;
    whole.continuedAt = this.continuedAt;
    whole.restarted = this.restarted;
    return whole;
  }

  /**
   * A failed request: a continuation answered 400 restarts once from scratch; anything else
   * fails the row. A context-length 400 (the prompt plus the saved text, or plus what is left
   * of max_tokens, no longer fits: the template's tokens around the saved text, or a chunk
   * count below the true token count) is not the server refusing `continue_final_message`:
   * the row restarts, as docs/resume-partial.md says of a 400, but later rows still continue.
   */
  private async afterFailure(
    e: unknown,
    client: ChatClient,
    signal: AbortSignal,
    earlier: number,
  ): Promise<PartialResult> {
    let attempts = earlier;
    for (;;) {
      const err = e instanceof VlmError ? e : new VlmError(ErrorCodes.INTERNAL, String(e));
      attempts += err.attempts ?? 1;
      // A continuation answered 400: once from scratch. A refusal ends continuations for the
      // run; one that did not fit ends them for this row only (its fresh answer, if cut
      // again, would not fit either).
      const tooLong = isContextError(err);
      if (this.continuing && (err.status === 400 || tooLong) && !this.restarted && !signal.aborted) {
        if (tooLong) this.mayContinue = false;
        else this.owner.refuse(err);
        this.restarted = true;
        this.owner.counts.restarts++;
        this.restart();
        try {
          return this.finished(await client.chat(this.original, this), attempts);
        } catch (next) {
          e = next;
          continue;
        }
      }
      // The failed attempt's text stays in its stream, for the next save.
      this.owner.ended(this, false);
      err.attempts = attempts;
      throw err;
    }
  }

  /** ChatOptions: an attempt's stream started. */
  onStream(s: StreamProgress): void {
    this.stream = s;
  }

  /** ChatOptions: the request for a retry. */
  retryRequest(): ChatRequest {
    return this.nextRequest();
  }

  /** The request for the next attempt: a continuation of everything so far when worth it. */
  private nextRequest(): ChatRequest {
    this.requests++;
    const s = this.stream;
    this.stream = undefined;
    let so = this.before;
    if (s && s.tokensSoFar() > 0) {
      const t = this.attemptText(s.fullText());
      so = { content: so.content + t.content, reasoning: so.reasoning + t.reasoning, tokens: so.tokens + t.tokens };
    }
    const { minTokens, markers } = this.owner.opts;
    const next =
      so.tokens >= minTokens && !this.owner.refused && this.mayContinue
        ? continuationRequest(this.original, so, markers)
        : undefined;
    if (!next) {
      if (so.tokens > 0 || this.saved.tokens > 0) this.restart();
      return this.original;
    }
    if (this.requests === 1) this.owner.counts.resumed++;
    else this.owner.counts.continuedRetries++;
    this.before = so;
    this.continuing = true;
    if (this.continuedAt[this.continuedAt.length - 1] !== so.tokens) this.continuedAt.push(so.tokens);
    return next;
  }

  /**
   * Text of the attempt in flight, as it goes after `before`. A continuation that starts after
   * the thinking ended has no end marker of its own, and a parser may send it as reasoning
   * (joinAnswer): it is content, or a save or a retry would put the answer inside the thinking.
   */
  private attemptText(t: StreamDelta): StreamDelta {
    if (!this.continuing || !thinkingEnded(this.before) || t.reasoning === "") return t;
    return { content: t.reasoning + t.content, reasoning: "", tokens: t.tokens };
  }

  /** Forgets the text so far (the row starts from its first token). */
  private restart(): void {
    if (this.saved.tokens > 0) this.reset = true;
    this.before = { content: "", reasoning: "", tokens: 0 };
    this.saved = { cLen: 0, rLen: 0, tokens: 0 };
    this.stream = undefined;
    this.continuing = false;
    this.continuedAt.length = 0;
  }

  /** What the log lacks of this row, when the row is long enough to be worth saving. */
  delta(): Delta | undefined {
    if (this.reset) {
      this.owner.drop(this.index);
      this.reset = false;
    }
    const s = this.stream;
    // Cheap for the many short answers: their streams are not even read here.
    if (this.before.tokens + (s?.tokensSoFar() ?? 0) < this.owner.opts.minTokens) return undefined;
    const b = this.before;
    // The tail of `before` the log lacks (a retry folded unsaved text into it), then the stream's news.
    const head = this.saved.tokens < b.tokens;
    const t = s ? this.attemptText(s.take()) : { content: "", reasoning: "", tokens: 0 };
    const content = (head ? b.content.slice(this.saved.cLen) : "") + t.content;
    const reasoning = (head ? b.reasoning.slice(this.saved.rLen) : "") + t.reasoning;
    const tokens = (head ? b.tokens - this.saved.tokens : 0) + t.tokens;
    if (tokens === 0 && content === "" && reasoning === "") return undefined;
    const d: Delta = {
      index: this.index,
      digest: this.digest(),
      contentFrom: this.saved.cLen,
      reasoningFrom: this.saved.rLen,
      content,
      reasoning,
      tokens,
      continuedAt: this.continuedAt.length ? [...this.continuedAt] : undefined,
    };
    this.saved = {
      cLen: this.saved.cLen + content.length,
      rLen: this.saved.rLen + reasoning.length,
      tokens: this.saved.tokens + tokens,
    };
    this.owner.counts.savedRows++;
    return d;
  }

  /** The original request's identity with the row's index: saved text applies to it only. */
  digest(): string {
    if (this.digestValue) return this.digestValue;
    const { stream: _s, stream_options: _o, ...rest } = this.original;
    const h = createHash("sha256").update(`${this.index}\n`).update(JSON.stringify(rest));
    this.digestValue = h.digest("hex").slice(0, 32);
    return this.digestValue;
  }
}
