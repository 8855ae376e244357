import type { ImageOptions } from "./options.js";

export type ImageCacheStats = {
  /** Answers that did no work: served from memory, or joined a request already in flight. */
  hits: number;
  /** Answers that read (or downloaded) and encoded the image. */
  misses: number;
  /** The part of `hits` that joined an in-flight miss (concurrent rows with the same image). */
  shared: number;
  /** Entries dropped to stay under the byte bound. */
  evictions: number;
  entries: number;
  /** Bytes held now (data URL characters, one byte each: base64 is ASCII). */
  bytes: number;
  maxBytes: number;
  /** hits / (hits + misses), 0 before any request. */
  hitRate: number;
};

export interface ImageCache {
  /**
   * The value for `key`: from memory (LRU order refreshed), from a request in flight for the
   * same key, or from `make()`, run once however many callers ask at the same time.
   * A failed `make()` is not kept: the next request tries again.
   */
  get(key: string, make: () => Promise<string>): Promise<string>;
  /** The value for `key` when it is in memory now (a hit, LRU order refreshed), else undefined. */
  peek?(key: string): string | undefined;
  stats(): ImageCacheStats;
  clear(): void;
}

/**
 * A per-run cache of resolved images (data URLs), bounded in bytes, least recently used out
 * first. One run makes one with `createImageCache(options)` and passes it in every
 * ResolveContext. An entry larger than the whole bound is returned but not stored.
 */
export function createImageCache(options: Pick<ImageOptions, "cache_bytes">): ImageCache {
  const maxBytes = options.cache_bytes;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the LRU one.
  const entries = new Map<string, string>();
  const inflight = new Map<string, Promise<string>>();
  let bytes = 0,
    hits = 0,
    misses = 0,
    shared = 0,
    evictions = 0;

  const size = (key: string, value: string) => key.length + value.length;

  function store(key: string, value: string): void {
    const n = size(key, value);
    if (n > maxBytes) return;
    const old = entries.get(key);
    if (old !== undefined) {
      entries.delete(key);
      bytes -= size(key, old);
    }
    entries.set(key, value);
    bytes += n;
    for (const [k, v] of entries) {
      if (bytes <= maxBytes) break;
      entries.delete(k);
      bytes -= size(k, v);
      evictions++;
    }
  }

  function peek(key: string): string | undefined {
    const cached = entries.get(key);
    if (cached === undefined) return undefined;
    hits++;
    entries.delete(key);
    entries.set(key, cached);
    return cached;
  }

  return {
    peek,
    get(key, make) {
      const cached = peek(key);
      if (cached !== undefined) return Promise.resolve(cached);
      const pending = inflight.get(key);
      if (pending) {
        hits++;
        shared++;
        return pending;
      }
      misses++;
      // make() starts on the next microtask, after the promise is registered, so even a
      // synchronous throw is shared and cleaned up like any failure.
      const p = Promise.resolve()
        .then(make)
        .then((value) => {
          store(key, value);
          return value;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
    stats() {
      const total = hits + misses;
      return {
        hits,
        misses,
        shared,
        evictions,
        entries: entries.size,
        bytes,
        maxBytes,
        hitRate: total === 0 ? 0 : hits / total,
      };
    },
    clear() {
      entries.clear();
      bytes = 0;
    },
  };
}
