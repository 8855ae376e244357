import type { ChatRequest } from "./types.js";

/**
 * Serialises chat requests to the bytes sent, without re-serialising base64 images.
 *
 * Why: a 1 MB image is a 1.4 MB data URL. `JSON.stringify` scans and copies every character
 * of it for escaping, then undici encodes the 1.4 MB string to UTF-8 again: most of the
 * client's CPU in image runs (--cpu-prof in bench/throughput.mjs; docs/performance.md, "Figures behind the code"),
 * for bytes that are the same for every row and seed that uses the image. Here a data URL is
 * checked once (base64 never needs JSON escaping, but a URL from a row might), kept as its
 * JSON literal in bytes, and sent between the pieces of the serialised rest of the request.
 * The pieces go to the socket as they are (undici writes an array body chunk by chunk), so
 * 512 requests in flight with the same image share one copy of it instead of holding 512.
 *
 * The first piece carries at least FIRST_WRITE bytes (the head of the image copied in): undici
 * sends the headers with the first piece, and when they went out alone, a few hundred bytes
 * ahead of the image, the server (the simulator over loopback) spent markedly more CPU per
 * image request than for the same bytes in one write, and the rate fell with it. Copying
 * 64 KB a request avoids it (bench/throughput.mjs).
 * vlmpipe's own HTTP/1.1 pool writes the head and all pieces in one corked writev, so its
 * encoder asks for no first write (firstWrite 0): no copy at all, the image's literal is sent
 * as the very buffer that is cached (bench/image-rows.mjs measures the difference), and the
 * JSON text around it stays text (no Buffer made of it; the pool writes the first piece with
 * the request's head).
 */
export type EncodedBody = {
  /**
   * The JSON text of a request without spliced images; otherwise its bytes, whole or in
   * pieces to send in order. Text goes to the socket in one write with the request's head:
   * that took 10-18% less client CPU a request than the head and a Buffer of the body
   * written together (a corked writev), and 7-9% less of the simulator's.
   */
  body: string | Buffer | (string | Buffer)[];
  length: number;
};

export type BodyEncoder = {
  encode(request: ChatRequest): EncodedBody;
};

/** Strings shorter than this are cheaper to leave to JSON.stringify. */
const MIN_SPLICE = 16 * 1024;
/**
 * Bytes the first piece of a spliced body holds at least: a loopback TCP segment's worth
 * (its MSS is 65,483 bytes) and undici's socket highWaterMark.
 */
export const FIRST_WRITE = 64 * 1024;
/**
 * A character that keeps a string from being its own JSON literal between quotes: one that
 * JSON.stringify escapes (quote, backslash, control characters) or one that is not ASCII (the
 * literal is written as one byte a character). A data URL from resolveImage (a mime type and
 * base64) has none. One character class, searched: ~4x faster than matching the whole URL
 * against a data URL pattern, which showed as ~1 ms an image at start-up.
 */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/**
 * @param maxBytes data URL literals kept (least recently used out first)
 * @param firstWrite bytes the first piece of a spliced body holds at least (0: as they come)
 */
export function createBodyEncoder(maxBytes = 64 * 2 ** 20, firstWrite = FIRST_WRITE): BodyEncoder {
  // Data URL -> its JSON literal as bytes (null: it needs escapes, left to JSON.stringify), least recently used
  // first (Map order). The key is the string itself: V8 caches a string's hash, and the image
  // cache hands out the same string object for every row that uses an image.
  const literals = new Map<string, Buffer | null>();
  let bytes = 0;
  // A placeholder no row can contain by accident: NUL plus a per-encoder nonce.
  const nonce = Math.random().toString(36).slice(2);

  function literal(url: string): Buffer | null {
    const hit = literals.get(url);
    if (hit !== undefined) {
      // Recency matters once evictions may come; far under the bound a row skips the Map's reorder.
      if (bytes > maxBytes / 2) {
        literals.delete(url);
        literals.set(url, hit);
      }
      return hit;
    }
    const buf = NEEDS_ESCAPE.test(url) ? null : jsonLiteral(url);
    if (buf && buf.length <= maxBytes) {
      literals.set(url, buf);
      bytes += buf.length;
      for (const [k, v] of literals) {
        if (bytes <= maxBytes) break;
        literals.delete(k);
        bytes -= v?.length ?? 0;
      }
    }
    return buf;
  }

  return {
    encode(request) {
      const spliced: Buffer[] = [];
      // Copied only once an image is spliced (text rows, most of them, allocate nothing here).
      let messages = request.messages;
      for (let j = 0; j < request.messages.length; j++) {
        const m = request.messages[j]!;
        if (typeof m.content === "string") continue;
        let content = m.content;
        for (let i = 0; i < content.length; i++) {
          const p = content[i]!;
          if (p.type !== "image_url" || p.image_url.url.length < MIN_SPLICE) continue;
          const lit = literal(p.image_url.url);
          if (!lit) continue;
          if (content === m.content) content = [...content];
          content[i] = { ...p, image_url: { ...p.image_url, url: `\u0000${nonce}:${spliced.length}` } };
          spliced.push(lit);
        }
        if (content === m.content) continue;
        if (messages === request.messages) messages = [...messages];
        messages[j] = { ...m, content };
      }
      if (spliced.length === 0) {
        const body = JSON.stringify(request);
        return { body, length: Buffer.byteLength(body) };
      }
      const text = JSON.stringify({ ...request, messages });
      // The placeholders appear in order, each as its JSON literal ("\u0000<nonce>:<i>").
      // Text pieces as strings for the own pool (firstWrite 0), as bytes for undici.
      const asText = firstWrite === 0;
      const pieces: (string | Buffer)[] = [];
      let length = 0;
      const pushText = (t: string) => {
        pieces.push(asText ? t : Buffer.from(t));
        length += Buffer.byteLength(t);
      };
      let from = 0;
      for (let i = 0; i < spliced.length; i++) {
        const mark = JSON.stringify(`\u0000${nonce}:${i}`);
        const at = text.indexOf(mark, from);
        pushText(text.slice(from, at));
        pieces.push(spliced[i]!);
        length += spliced[i]!.length;
        from = at + mark.length;
      }
      pushText(text.slice(from));
      return { body: asText ? pieces : withFullFirstPiece(pieces as Buffer[], firstWrite), length };
    },
  };
}

/** `"url"` as bytes: one copy of the string (no quoted string built first and copied again). */
function jsonLiteral(url: string): Buffer {
  const buf = Buffer.allocUnsafe(url.length + 2);
  buf[0] = 0x22;
  buf.write(url, 1, "latin1");
  buf[url.length + 1] = 0x22;
  return buf;
}

/**
 * The same bytes with the first piece at least FIRST_WRITE long: the head of what follows is
 * copied into it (64 KB, not the image); the rest stay views of the shared literals.
 */
function withFullFirstPiece(pieces: Buffer[], firstWrite: number): Buffer | Buffer[] {
  if (pieces[0]!.length >= firstWrite) return pieces;
  const head: Buffer[] = [];
  let size = 0;
  let i = 0;
  for (; i < pieces.length && size < firstWrite; i++) {
    const p = pieces[i]!;
    const take = Math.min(p.length, firstWrite - size);
    head.push(take === p.length ? p : p.subarray(0, take));
    size += take;
    if (take < p.length) {
      pieces[i] = p.subarray(take);
      break;
    }
  }
  const first = Buffer.concat(head, size);
  // All of it fitted: one buffer, sent as such.
  return i >= pieces.length ? first : [first, ...pieces.slice(i)];
}
