/**
 * JSON.parse of a chat request body, without scanning its base64 images for every request.
 *
 * Why: a request with a 1 MB image is a 1.4 MB body. Decoding it to a string and JSON.parse
 * cost the simulator more CPU per request than the client under test spends on it, so a
 * benchmark of images measured the simulator (bench/throughput.mjs). Benchmarks send the
 * same images again and again (seeds, retries, one image for many rows), so each
 * `"url":"data:..."` value is cut out of the raw bytes, looked up by a sampled key of those
 * bytes (as the image check already keys its verdicts, see sampledKey), and only the small rest of the
 * body is parsed. The first time a value is seen it is parsed on its own, so JSON's verdict
 * (an escape, a control character) stays exactly JSON.parse's: anything unusual falls back
 * to parsing the whole body.
 */
import { sampledBytesKey } from "./hash.js";

// `"url":"data:` after `{` or `,`: in valid JSON only a real "url" key whose value is a
// string starting with data: looks like this (a quote inside a string is escaped).
const URL_VALUE = Buffer.from(`"url":"data:`);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Values shorter than this are parsed with the rest. */
const MIN_CUT = 4096;
/** Larger bodies get a buffer of their own. */
const SCRATCH_MAX = 64 * 2 ** 20;

/** Parses a body from the chunks it arrived in; throws JSON.parse's SyntaxError. */
export type BodyParser = (chunks: Buffer[]) => unknown;

export function createBodyParser(maxBytes = 64 * 2 ** 20): BodyParser {
  // Sampled key of a value's bytes -> the string JSON.parse gave for it; LRU by Map order.
  const values = new Map<string, string>();
  let bytes = 0;
  const nonce = Math.random().toString(36).slice(2);

  function knownValue(literal: Buffer): string | undefined {
    const key = sampledBytesKey(literal);
    const hit = values.get(key);
    if (hit !== undefined) {
      values.delete(key);
      values.set(key, hit);
      return hit;
    }
    let v: unknown;
    try {
      v = JSON.parse(literal.toString("utf8"));
    } catch {
      return undefined; // let the whole body fail with JSON.parse's own message
    }
    if (typeof v !== "string") return undefined;
    values.set(key, v);
    bytes += v.length;
    for (const [k, old] of values) {
      if (bytes <= maxBytes) break;
      values.delete(k);
      bytes -= old.length;
    }
    return v;
  }

  // Bodies are joined into one buffer that is reused: parsing is synchronous and keeps no
  // reference to it, and a fresh 1.4 MB buffer per request kept the GC busy (a large share of
  // the simulator's time in a profile of 1 MB image rows).
  let scratch = Buffer.alloc(0);
  const join = (chunks: Buffer[]): Buffer => {
    if (chunks.length === 1) return chunks[0]!;
    const n = chunks.reduce((s, c) => s + c.length, 0);
    if (n > SCRATCH_MAX) return Buffer.concat(chunks, n);
    if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, 2 * scratch.length));
    let at = 0;
    for (const c of chunks) at += c.copy(scratch, at);
    return scratch.subarray(0, n);
  };

  return (chunks) => {
    const raw = join(chunks);
    const cut: string[] = [];
    const pieces: string[] = [];
    let from = 0;
    for (let at = raw.indexOf(URL_VALUE); at >= 0; at = raw.indexOf(URL_VALUE, from)) {
      const open = at + URL_VALUE.length - 6; // the value's opening quote
      const close = raw.indexOf(QUOTE, open + 1);
      if (close < 0) break;
      const before = raw[at - 1];
      const literal = raw.subarray(open, close + 1);
      if (
        close - open < MIN_CUT ||
        (before !== 0x7b /* { */ && before !== 0x2c) /* , */ ||
        literal.includes(BACKSLASH)
      ) {
        from = close + 1;
        continue;
      }
      const value = knownValue(literal);
      if (value === undefined) return JSON.parse(raw.toString("utf8"));
      pieces.push(raw.toString("utf8", from, open), JSON.stringify(`\u0000${nonce}:${cut.length}`));
      cut.push(value);
      from = close + 1;
    }
    if (cut.length === 0) return JSON.parse(raw.toString("utf8"));
    pieces.push(raw.toString("utf8", from));
    let body: unknown;
    try {
      body = JSON.parse(pieces.join(""));
    } catch {
      return JSON.parse(raw.toString("utf8")); // the error message, with positions in the real body
    }
    // Put the values back where they were cut; a value somewhere unexpected means this body
    // is not the usual shape: parse it whole.
    return restore(body, nonce, cut) === cut.length ? body : JSON.parse(raw.toString("utf8"));
  };
}

/** Replaces the placeholders in messages[].content[].image_url.url; returns how many. */
function restore(body: unknown, nonce: string, cut: string[]): number {
  let n = 0;
  const prefix = `\u0000${nonce}:`;
  const messages = (body as { messages?: unknown })?.messages;
  if (!Array.isArray(messages)) return 0;
  for (const m of messages) {
    const content = (m as { content?: unknown })?.content;
    if (!Array.isArray(content)) continue;
    for (const p of content) {
      const iu = (p as { image_url?: { url?: unknown } })?.image_url;
      if (typeof iu?.url === "string" && iu.url.startsWith(prefix)) {
        iu.url = cut[Number(iu.url.slice(prefix.length))];
        n++;
      }
    }
  }
  return n;
}
