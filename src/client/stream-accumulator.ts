import { isAscii } from "node:buffer";
import { TextDecoder } from "node:util";
import { createParser, type EventSourceParser } from "eventsource-parser";
import { ErrorCodes, VlmError } from "../errors.js";
import { isErrorBody, streamError } from "./http-error.js";
import { badResponse, type Choice, type Completion } from "./parse-completion.js";
import type { ChatResult, StreamDelta, StreamProgress, Usage } from "./types.js";

// The fast paths of a chunk (see onData). vLLM serialises chunks with exclude_unset, so a
// stream's chunks look like
//   <head>{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}
//   <head>{"index":0,"delta":{"content":"..."},"logprobs":null,"finish_reason":null}]}      (each token)
//   <head>{"index":0,"delta":{"content":"..."},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}
//   <head>],"usage":{...}}
// where <head> is `{"id":...,"object":...,"created":...,"model":...,"choices":[`, the same for
// every chunk of a stream; reasoning comes as "reasoning" or "reasoning_content".
const CHOICES = `"choices":[`;
const ROLE_CHUNK = `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`;
const OPENS = [
  { open: `{"index":0,"delta":{"content":"`, reasoning: false },
  { open: `{"index":0,"delta":{"reasoning":"`, reasoning: true },
  { open: `{"index":0,"delta":{"reasoning_content":"`, reasoning: true },
] as const;
const TOKEN_END = `"},"logprobs":null,"finish_reason":null}]}`;
const FINISH_MID = `"},"logprobs":null,"finish_reason":"`;
const FINISH_END = `","stop_reason":null}]}`;
const USAGE = `],"usage":`;
/**
 * Pieces of text kept apart before they are joined into one string (see append): few, since
 * each may keep its chunk's text alive (a few hundred bytes) while a slow stream goes on.
 */
const MAX_PIECES = 8;

/**
 * Accumulates an SSE stream of `chat.completion.chunk`s. Whole one-line `data:` events are
 * framed here (see readEvents); any other text (partial events, carriage returns, comments,
 * other fields) goes to eventsource-parser, so the events read are the ones it would frame.
 * An error event inside the stream throws; a stream that ends before its finish chunk is
 * incomplete and throws a retryable error.
 */
export class StreamAccumulator implements StreamProgress {
  /** Joined runs of pieces (see append), in order; joined once at the end. */
  private readonly contentRuns: string[] = [];
  private readonly reasoningRuns: string[] = [];
  /** Runs and tokens already handed out by take(). */
  private takenContent = 0;
  private takenReasoning = 0;
  private takenTokens = 0;
  /** Text chunks read: vLLM sends one per decoded token, so this counts tokens (see take). */
  private tokens = 0;
  private readonly contentPieces: string[] = [];
  private readonly reasoningPieces: string[] = [];
  private finishReason: string | null = null;
  private usage: Usage | undefined;
  private done = false;
  private failure: VlmError | undefined;
  /** This stream's `{...,"choices":[`, once a chunk has shown it is a valid JSON prefix. */
  private head: string | undefined;
  /** head + the opening of the last token chunk's delta, up to its value's quote. */
  private prefix = "";
  private prefixIsReasoning = false;
  /** What lies between two token chunks' values: TOKEN_END, an empty line, `data: ` + prefix ("" when prefix holds a line break). */
  private between = "";
  /** eventsource-parser holds no part of an event: the next text may be read here first. */
  private parserIdle = true;
  /** Made when some text is left to it (most streams need none). */
  private parser: EventSourceParser | undefined;
  private textSeen = false;
  /** Made at the first non-ASCII chunk: ASCII needs no UTF-8 state across chunks. */
  private decoder: TextDecoder | undefined;
  private fed = false;

  feed(chunk: Uint8Array): void {
    let text: string;
    if (this.decoder === undefined && isAscii(chunk)) {
      // Nearly every chunk is ASCII (JSON escapes most of what is not); latin1 is then the
      // same text, without TextDecoder's per-call cost.
      text = (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)).toString(
        "latin1",
      );
    } else {
      // A BOM is dropped only at the very start of the stream, as one decoder would.
      this.decoder ??= new TextDecoder("utf-8", { ignoreBOM: this.fed });
      text = this.decoder.decode(chunk, { stream: true });
    }
    if (chunk.byteLength > 0) this.fed = true;
    this.feedText(text);
  }

  private feedText(text: string): void {
    const first = !this.textSeen;
    this.textSeen = true;
    let i = 0;
    // A carriage return may end a line: such text is all left to the parser.
    if (this.parserIdle && text.indexOf("\r") < 0) i = this.readEvents(text);
    if (this.failure) throw this.failure;
    if (i < text.length) this.toParser(i === 0 ? text : text.slice(i), first && i === 0);
    if (this.failure) throw this.failure;
  }

  /** Hands text to eventsource-parser; `first`: the stream's first text, whole. */
  private toParser(text: string, first: boolean): void {
    if (!this.parser) {
      this.parser = createParser({ onEvent: (ev) => this.onData(ev.data) });
      // Its BOM check looks at the first text it is given: only the stream's first counts.
      if (!first) this.parser.feed("");
    }
    this.parser.feed(text);
    // A text that ends with an empty line leaves no part of an event behind.
    const n = text.length;
    this.parserIdle =
      n >= 2 && text.charCodeAt(n - 1) === 0x0a && text.charCodeAt(n - 2) === 0x0a && text.indexOf("\r") < 0;
  }

  /**
   * Reads the whole `data: ...` events (one line, then an empty one) at the start of `text`
   * as eventsource-parser would, and returns where the rest begins. A run of token chunks is
   * read from value to value: after a value without escapes comes exactly `between` (its
   * chunk's end, the empty line, the next chunk's `data: ` and prefix), or the run ends and
   * that chunk is read whole. Per token chunk that is one comparison and one slice, where
   * the parser's line slice and event object and knownHead's two comparisons cost ~3x as
   * much (docs/performance.md, "Figures behind the code"; `node bench/sse.mjs` measures it).
   */
  private readEvents(text: string): number {
    const n = text.length;
    let i = 0;
    while (i < n && this.failure === undefined) {
      if (!isDataLine(text, i)) break;
      const p = this.prefix;
      const between = this.between;
      if (between !== "" && text.slice(i + 6, i + 6 + p.length) === p) {
        let from = i + 6 + p.length;
        for (;;) {
          const to = plainEnd(text, from);
          if (text.charCodeAt(to) !== 0x22 /* " */ || text.slice(to, to + between.length) !== between) break;
          if (to > from) this.append(text.slice(from, to), this.prefixIsReasoning);
          i = to + TOKEN_END.length + 2;
          from = to + between.length;
        }
      }
      const nl = text.indexOf("\n", i + 6);
      if (nl < 0 || text.charCodeAt(nl + 1) !== 0x0a) break;
      this.onData(text.slice(i + 6, nl));
      i = nl + 2;
    }
    return i;
  }

  private onData(data: string): void {
    if (this.failure) return;
    if (data === "[DONE]") {
      this.done = true;
      return;
    }
    // JSON.parse of every chunk was the client's largest cost (~20% of its CPU). Once the
    // head of this stream's chunks is known to be valid JSON, a chunk that is that head plus
    // one of the templates above needs at most its strings read; other chunks with that head
    // parse their choices alone. Each path takes exactly the chunks that JSON.parse of the
    // whole chunk would read the same way; anything else falls through to it, so errors read
    // as before.
    if (this.head !== undefined ? this.knownHead(data) : this.firstChunk(data)) return;
    let j: Completion;
    try {
      j = JSON.parse(data) as Completion;
    } catch {
      this.failure = badResponse(`stream event is not JSON: ${data.slice(0, 200)}`);
      return;
    }
    if (typeof j !== "object" || j === null) {
      this.failure = badResponse(`stream event is not a JSON object: ${data.slice(0, 200)}`);
      return;
    }
    // vLLM's `{"error": {...}}`, or the flat `{"object": "error", ...}` some servers send
    // (a chunk's object is "chat.completion.chunk"): read as a chunk it would end the stream
    // as an answer cut short.
    if (isErrorBody(j as Record<string, unknown>)) {
      this.failure = streamError(j as Record<string, unknown>);
      return;
    }
    this.apply(j.usage, j.choices);
  }

  /** A chunk of a stream whose head is known: false when it is not `<head>...` as expected. */
  private knownHead(data: string): boolean {
    const head = this.head as string;
    let p = this.prefix;
    let reasoning = this.prefixIsReasoning;
    // Compared as slices: `slice(..) === s` runs in V8's fast string equality, where
    // startsWith/endsWith took twice as long here and made this method a fifth of the client's
    // CPU (measured with --cpu-prof on 30k streamed rows).
    if (p === "" || data.slice(0, p.length) !== p) {
      const h = head.length;
      if (data.length <= h || data.slice(0, h) !== head) return false;
      if (data.length - h === ROLE_CHUNK.length && data.slice(h) === ROLE_CHUNK) return true; // nothing to add
      if (data.slice(h, h + USAGE.length) === USAGE) return this.usageChunk(data, h + USAGE.length);
      let o: (typeof OPENS)[number] | undefined;
      for (const x of OPENS) if (data.slice(h, h + x.open.length) === x.open) o = x;
      if (!o) return this.choicesOnly(data, h);
      p = this.prefix = head + o.open;
      reasoning = this.prefixIsReasoning = o.reasoning;
      // (A head read from several data lines holds a line break: no runs then, see readEvents.)
      this.between = p.includes("\n") ? "" : `${TOKEN_END}\n\ndata: ${p}`;
    }
    // data = prefix + value + one of the two ends.
    const from = p.length;
    let to = data.length - TOKEN_END.length;
    let finish: string | undefined;
    if (to < from || data.slice(to) !== TOKEN_END) {
      const f = data.length - FINISH_END.length;
      if (f < from || data.slice(f) !== FINISH_END) return this.choicesOnly(data, head.length);
      to = data.lastIndexOf(FINISH_MID, f - FINISH_MID.length - 1);
      if (to < from || !isReasonWord(data, to + FINISH_MID.length, f)) return this.choicesOnly(data, head.length);
      finish = data.slice(to + FINISH_MID.length, f);
    }
    const text = stringValue(data, from, to);
    if (text === undefined) return this.choicesOnly(data, head.length);
    if (text) this.append(text, reasoning);
    if (finish) this.finishReason = finish;
    return true;
  }

  /**
   * The first chunk, parsed as its head (`{...,"choices":[` closed by `]}`) and its choices
   * apart: the two parses cost what one of the whole chunk does, and a head that parses
   * this way is a valid prefix of every later chunk that starts with it.
   */
  private firstChunk(data: string): boolean {
    const i = data.indexOf(CHOICES);
    // Not escaped, so the key is exactly "choices" (a quote before it would end a string).
    if (i <= 0 || data.charCodeAt(i - 1) === 0x5c /* \ */) return false;
    const at = i + CHOICES.length;
    const role = data.length - at === ROLE_CHUNK.length && data.slice(at) === ROLE_CHUNK;
    const choices = role ? undefined : parseChoices(data, at);
    if (!role && choices === undefined) return false;
    const head = data.slice(0, at);
    let j: Completion;
    try {
      j = JSON.parse(`${head}]}`) as Completion;
    } catch {
      return false;
    }
    // `]}` right after the `[`: the array is the value of the object's last member, at the
    // top level. Its key is "choices" (checked above), so the chunk is this object with
    // these choices. A head holding usage or an error is not reused.
    if (isErrorBody(j as Record<string, unknown>) || j.usage !== undefined) return false;
    this.head = head;
    if (choices) this.apply(undefined, choices);
    return true;
  }

  /** `<head>],"usage":U}`: the usage alone is parsed. */
  private usageChunk(data: string, at: number): boolean {
    if (data.charCodeAt(data.length - 1) !== 0x7d /* } */) return false;
    let usage: Usage | null;
    try {
      usage = JSON.parse(data.slice(at, -1)) as Usage | null;
    } catch {
      return false;
    }
    this.apply(usage, undefined);
    return true;
  }

  private choicesOnly(data: string, at: number): boolean {
    const choices = parseChoices(data, at);
    if (choices === undefined) return false;
    this.apply(undefined, choices);
    return true;
  }

  private apply(usage: Usage | null | undefined, choices: Choice[] | undefined): void {
    if (usage) this.usage = usage;
    const c = choices?.[0];
    if (!c) return;
    const d = c.delta ?? c.message;
    if (d?.content) this.append(d.content, false);
    const r = d?.reasoning ?? d?.reasoning_content;
    if (r) this.append(r, true);
    if (c.finish_reason) this.finishReason = c.finish_reason;
  }

  /**
   * Text is kept as pieces and joined every MAX_PIECES: a piece read straight out of a chunk
   * is a slice that keeps the chunk's whole text alive, and joining copies the pieces out.
   */
  private append(text: string, reasoning: boolean): void {
    this.tokens++;
    const pieces = reasoning ? this.reasoningPieces : this.contentPieces;
    if (pieces.push(text) < MAX_PIECES) return;
    (reasoning ? this.reasoningRuns : this.contentRuns).push(pieces.join(""));
    pieces.length = 0;
  }

  /**
   * The text read since the last take (none of it read twice), and the text chunks it came
   * in: what an in-flight save appends. Costs the new text only, however long the answer.
   */
  /** All the text read so far, taken or not (a retry continues from it). */
  fullText(): StreamDelta {
    const content = this.contentRuns.join("") + this.contentPieces.join("");
    const reasoning = this.reasoningRuns.join("") + this.reasoningPieces.join("");
    return { content, reasoning, tokens: this.tokens };
  }

  tokensSoFar(): number {
    return this.tokens;
  }

  take(): StreamDelta {
    for (const reasoning of [false, true]) {
      const pieces = reasoning ? this.reasoningPieces : this.contentPieces;
      if (pieces.length === 0) continue;
      (reasoning ? this.reasoningRuns : this.contentRuns).push(pieces.join(""));
      pieces.length = 0;
    }
    const content = this.contentRuns.slice(this.takenContent).join("");
    const reasoning = this.reasoningRuns.slice(this.takenReasoning).join("");
    const tokens = this.tokens - this.takenTokens;
    this.takenContent = this.contentRuns.length;
    this.takenReasoning = this.reasoningRuns.length;
    this.takenTokens = this.tokens;
    return { content, reasoning, tokens };
  }

  result(): Omit<ChatResult, "attempts"> {
    if (this.decoder) this.feedText(this.decoder.decode());
    if (this.failure) throw this.failure;
    if (!this.done && this.finishReason === null) {
      throw new VlmError(ErrorCodes.CONNECTION, "the stream ended before the generation finished", { retryable: true });
    }
    const content = this.contentRuns.join("") + this.contentPieces.join("");
    const reasoning = this.reasoningRuns.join("") + this.reasoningPieces.join("");
    const finishReason = this.finishReason;
    const usage = this.usage;
    // (no spread of a conditional object: that takes V8's slow path, once per row)
    return reasoning ? { content, reasoning, finishReason, usage } : { content, finishReason, usage };
  }
}

/**
 * The value of the JSON string literal `data[from - 1, to]` (quotes included), or undefined
 * when that is not one string literal. Without escapes or control characters it is the text
 * itself, read without JSON.parse.
 */
function stringValue(data: string, from: number, to: number): string | undefined {
  for (let i = from; i < to; i++) {
    const c = data.charCodeAt(i);
    if (c < 0x20 || c === 0x22 /* " */ || c === 0x5c /* \ */) {
      try {
        const v: unknown = JSON.parse(data.slice(from - 1, to + 1));
        return typeof v === "string" ? v : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return data.slice(from, to);
}

/** Whether `data: ` starts at `text[i]` (the parser also takes `data:` without the space; that goes to it). */
function isDataLine(text: string, i: number): boolean {
  return (
    text.charCodeAt(i) === 0x64 &&
    text.charCodeAt(i + 1) === 0x61 &&
    text.charCodeAt(i + 2) === 0x74 &&
    text.charCodeAt(i + 3) === 0x61 &&
    text.charCodeAt(i + 4) === 0x3a &&
    text.charCodeAt(i + 5) === 0x20
  );
}

/** The first index from `from` of a quote, a backslash or a control character (or the end). */
function plainEnd(text: string, from: number): number {
  let i = from;
  for (const n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) break;
  }
  return i;
}

/** A finish reason as vLLM writes them (stop, length, tool_calls, ...): nothing to unescape. */
function isReasonWord(data: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = data.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || c === 0x5f)) return false;
  }
  return true;
}

/**
 * The choices of a chunk `<head>...]}` whose head ends at `at` with the array's `[`, or
 * undefined when the rest is not `<JSON array elements>]}` (e.g. a usage field follows).
 */
function parseChoices(data: string, at: number): Choice[] | undefined {
  if (data.charCodeAt(data.length - 1) !== 0x7d /* } */ || data.charCodeAt(data.length - 2) !== 0x5d /* ] */)
    return undefined;
  let v: unknown;
  try {
    v = JSON.parse(`[${data.slice(at, -1)}`);
  } catch {
    return undefined;
  }
  return v as Choice[];
}
