/**
 * The identity of an input row: MurmurHash3 (x86, 32-bit, seed 0) of its line's bytes
 * `buf[start, end)`, given without the "\n" and a file's leading UTF-8 BOM (a trailing "\r"
 * is dropped here). A resume hashes every
 * done row of the input again before its first request, so this must be cheap: hashed in place
 * over the read buffer (no Buffer or string per line), a million rows of ~250 bytes take
 * ~0.1-0.15 s here, where one `crypto.hash` call per line took ~2.5 s and a native xxhash
 * binding ~0.3 s (its per-call cost). It tells edited, reordered or removed rows apart from the
 * run's own, except by a 1-in-4-billion chance per row; it is not a defence against tampering.
 */
export function rowDigest(buf: Uint8Array, start: number, end: number): number {
  if (end > start && buf[end - 1] === 0x0d) end--;
  let h = 0;
  let i = start;
  const end4 = start + ((end - start) & ~3);
  for (; i < end4; i += 4) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = (end - start) & 3;
  if (rest > 0) {
    let k = buf[i]!;
    if (rest > 1) k |= buf[i + 1]! << 8;
    if (rest > 2) k |= buf[i + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= end - start;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** As written in lines and files: 8 lowercase hex digits. */
export function digestHex(d: number): string {
  return d.toString(16).padStart(8, "0");
}

/** digestHex written into `buf[at, at + 8)` (no string made: finalize writes one a row). */
export function putDigestHex(buf: Uint8Array, at: number, d: number): void {
  for (let i = 0; i < 8; i++) buf[at + i] = HEX[(d >>> (28 - 4 * i)) & 15]!;
}

const HEX = Buffer.from("0123456789abcdef", "latin1");

/** Bytes a line of `<out>.row-digests` takes: 8 hex digits (or "--------": none) and "\n". */
export const DIGEST_LINE_BYTES = 9;

/** One line of `<out>.row-digests` into `buf[at, at + DIGEST_LINE_BYTES)`: d's hex, or "--------" when d < 0. */
export function putDigestLine(buf: Buffer, at: number, d: number): void {
  if (d < 0) buf.write("--------", at, "latin1");
  else putDigestHex(buf, at, d);
  buf[at + 8] = 0x0a;
}

/** digestHex read back from `buf[at, at + 8)`; -1 when those are not 8 lowercase hex digits. */
export function digestAt(buf: Uint8Array, at: number): number {
  let d = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buf[i]!;
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (v < 0) return -1;
    d = d * 16 + v;
  }
  return d;
}

/**
 * Digests by position (dense from 0, as row positions are): typed arrays, not a Map, since a
 * resume keeps one for each of a million done rows.
 */
export class RowDigests {
  private values = new Uint32Array(1024);
  private known = new Uint8Array(1024);
  private max = -1;

  set(position: number, digest: number): void {
    if (!Number.isInteger(position) || position < 0 || position >= 2 ** 28) return; // not a position of ours
    if (position >= this.known.length) this.grow(position + 1);
    if (digest < 0) {
      this.known[position] = 0;
      return;
    }
    this.values[position] = digest;
    this.known[position] = 1;
    if (position > this.max) this.max = position;
  }

  /** The digest of `position`, or -1 when none is known. */
  get(position: number): number {
    return position < this.known.length && this.known[position] === 1 ? this.values[position]! : -1;
  }

  /** The highest position with a digest (-1: none). */
  get last(): number {
    return this.max;
  }

  private grow(min: number): void {
    const n = Math.max(min, 2 * this.known.length);
    const values = new Uint32Array(n);
    values.set(this.values);
    const known = new Uint8Array(n);
    known.set(this.known);
    this.values = values;
    this.known = known;
  }
}
