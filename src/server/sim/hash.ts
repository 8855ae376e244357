/**
 * Cheap deterministic hashing: every "random" choice of the simulator (answers, lengths,
 * faults) is a hash of its inputs, so runs repeat exactly whatever the request order.
 */

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so nearby inputs spread well. */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform draw in [0, 1) fixed by its parts. */
export function unit(...parts: (string | number)[]): number {
  return hash32(parts.join("\u0001")) / 4294967296;
}

/** A small seeded PRNG (mulberry32) for building texts word by word. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A cache key for a large string (a base64 data URL) without reading all of it: the length,
 * both ends and a hash of ~2,000 evenly spaced characters. Two different images would have
 * to agree on all of these to collide, which is fine for a validation cache.
 */
export function sampledKey(s: string): string {
  const n = s.length;
  if (n <= 4096) return s;
  const step = Math.floor(n / 2048);
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i += step) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${n}|${s.slice(0, 64)}|${s.slice(-64)}|${fmix32(h)}`;
}

/** sampledKey over bytes (a raw request body's slice), without decoding them to a string. */
export function sampledBytesKey(b: Uint8Array): string {
  const n = b.length;
  const latin1 = (from: number, to: number) => Buffer.from(b.buffer, b.byteOffset + from, to - from).toString("latin1");
  if (n <= 4096) return latin1(0, n);
  const step = Math.floor(n / 2048);
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i += step) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return `${n}|${latin1(0, 64)}|${latin1(n - 64, n)}|${fmix32(h)}`;
}
