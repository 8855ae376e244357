import { mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";
import { createImageCache } from "../../src/images/image-cache.js";
import { type ImageFs, resolveImage } from "../../src/images/resolve-image.js";
import { opts } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-cache-"));
  for (const [name, colour] of [
    ["a.png", "#ff0000"],
    ["b.png", "#00ff00"],
    ["c.png", "#0000ff"],
  ] as const) {
    await writeFile(
      path.join(dir, name),
      await sharp({ create: { width: 64, height: 64, channels: 3, background: colour } })
        .png()
        .toBuffer(),
    );
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The real file system, counting calls. */
function countingFs() {
  const counts = { stat: 0, readFile: 0 };
  const fs: ImageFs = {
    stat: (f) => {
      counts.stat++;
      return stat(f);
    },
    readFile: (f) => {
      counts.readFile++;
      return readFile(f);
    },
  };
  return { fs, counts };
}

describe("createImageCache", () => {
  it("reads, encodes and stats a file once when it is resolved 4 times within a second (4 seeds)", async () => {
    const options = opts();
    const cache = createImageCache(options);
    const { fs, counts } = countingFs();
    const urls = [];
    for (let seed = 0; seed < 4; seed++) urls.push(await resolveImage("a.png", { baseDir: dir, options, cache, fs }));
    expect(new Set(urls).size).toBe(1);
    expect(counts).toEqual({ stat: 1, readFile: 1 });
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 1, shared: 0, entries: 1, hitRate: 0.75 });
  });

  it("shares one read between concurrent requests for the same image", async () => {
    const options = opts();
    const cache = createImageCache(options);
    const { fs, counts } = countingFs();
    const urls = await Promise.all([0, 1, 2, 3].map(() => resolveImage("b.png", { baseDir: dir, options, cache, fs })));
    expect(new Set(urls).size).toBe(1);
    expect(counts.readFile).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 1, shared: 3 });
  });

  it("evicts the least recently used entries to stay under cache_bytes", async () => {
    const options = opts();
    const probe = createImageCache({ cache_bytes: 1 << 30 });
    await resolveImage("a.png", { baseDir: dir, options, cache: probe });
    const one = probe.stats().bytes;
    // Room for two entries, not three.
    const cache = createImageCache({ cache_bytes: Math.floor(one * 2.5) });
    const { fs, counts } = countingFs();
    const r = (f: string) => resolveImage(f, { baseDir: dir, options, cache, fs });
    await r("a.png");
    await r("b.png");
    await r("a.png"); // hit: a is now the most recent
    await r("c.png"); // evicts b
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1, hits: 1, misses: 3 });
    expect(cache.stats().bytes).toBeLessThanOrEqual(cache.stats().maxBytes);
    await r("a.png"); // still cached
    expect(counts.readFile).toBe(3);
    await r("b.png"); // was evicted: read again
    expect(counts.readFile).toBe(4);
  });

  it("stores nothing with cache_bytes 0 but still shares in-flight reads", async () => {
    const options = opts({ cache_bytes: 0 });
    const cache = createImageCache(options);
    const { fs, counts } = countingFs();
    await Promise.all([1, 2].map(() => resolveImage("a.png", { baseDir: dir, options, cache, fs })));
    await resolveImage("a.png", { baseDir: dir, options, cache, fs });
    expect(counts.readFile).toBe(2);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it("reads a file again after it changed, once its stat window has passed (size and mtime are in the key)", async () => {
    const file = path.join(dir, "changing.png");
    await writeFile(
      file,
      await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } })
        .png()
        .toBuffer(),
    );
    const options = opts();
    const cache = createImageCache(options);
    // A window of 0 ms: every look stats the file (the default is one stat a second).
    const first = await resolveImage(file, { baseDir: dir, options, cache, statWindowMs: 0 });
    await writeFile(
      file,
      await sharp({ create: { width: 9, height: 9, channels: 3, background: "#fff" } })
        .png()
        .toBuffer(),
    );
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    const second = await resolveImage(file, { baseDir: dir, options, cache, statWindowMs: 0 });
    expect(second).not.toBe(first);
    expect(cache.stats().misses).toBe(2);
  });

  it("keys by options too: the same file under other options is encoded again", async () => {
    const cache = createImageCache({ cache_bytes: 1 << 20 });
    const png = await resolveImage("a.png", { baseDir: dir, options: opts(), cache });
    const jpeg = await resolveImage("a.png", { baseDir: dir, options: opts({ encode: "jpeg" }), cache });
    expect(png.startsWith("data:image/png")).toBe(true);
    expect(jpeg.startsWith("data:image/jpeg")).toBe(true);
    expect(cache.stats().misses).toBe(2);
  });

  it("does not keep failures: the next request tries again", async () => {
    const file = path.join(dir, "later.png");
    await writeFile(file, "not yet");
    const options = opts();
    const cache = createImageCache(options);
    await expect(resolveImage(file, { baseDir: dir, options, cache })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_DECODE,
    });
    await expect(resolveImage(file, { baseDir: dir, options, cache })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_DECODE,
    });
    expect(cache.stats()).toMatchObject({ misses: 2, entries: 0 });
  });

  it("stops a caller's wait on abort without failing the others sharing the work", async () => {
    const options = opts();
    const cache = createImageCache(options);
    const ac = new AbortController();
    const a = resolveImage("c.png", { baseDir: dir, options, cache, signal: ac.signal });
    const b = resolveImage("c.png", { baseDir: dir, options, cache });
    ac.abort();
    await expect(a).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    await expect(b).resolves.toMatch(/^data:image\/png;base64,/);
  });
});
