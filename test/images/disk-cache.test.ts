import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";
import { createDiskImageCache } from "../../src/images/disk-cache.js";
import { createImageCache } from "../../src/images/image-cache.js";
import type { ImageOptions } from "../../src/images/options.js";
import { type ImageFs, resolveImage } from "../../src/images/resolve-image.js";
import { opts, received } from "./helpers.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-disk-cache-"));
  await writeFile(
    path.join(dir, "a.png"),
    await sharp({ create: { width: 48, height: 32, channels: 3, background: "#ff0000" } })
      .png()
      .toBuffer(),
  );
  await writeFile(
    path.join(dir, "scan.tiff"),
    await sharp({ create: { width: 40, height: 30, channels: 3, background: "#0000ff" } })
      .tiff()
      .toBuffer(),
  );
  await writeFile(path.join(dir, "notes.png"), "this is a text file named .png\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The real file system, counting reads. */
function countingFs() {
  const counts = { readFile: 0 };
  const fs: ImageFs = {
    stat: (f) => stat(f),
    readFile: (f) => {
      counts.readFile++;
      return readFile(f);
    },
  };
  return { fs, counts };
}

/** One "process" of an eval: its own memory cache, the shared folder on disk. */
function job(cacheDir: string, options: ImageOptions = opts()) {
  const { fs, counts } = countingFs();
  const disk = createDiskImageCache(cacheDir);
  const cache = createImageCache(options);
  return {
    disk,
    cache,
    counts,
    resolve: (ref: string) => resolveImage(ref, { baseDir: dir, options, cache, disk, fs }),
  };
}

async function entries(cacheDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(cacheDir))
    for (const f of await readdir(path.join(cacheDir, d))) out.push(path.join(cacheDir, d, f));
  return out;
}

describe("disk image cache (image.cache_dir)", () => {
  it("checks an image once across four jobs (seeds): the others take the verdict from disk", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const urls: string[] = [];
    const stats = [];
    for (let seed = 0; seed < 4; seed++) {
      const j = job(cacheDir);
      urls.push(await j.resolve("a.png"));
      urls.push(await j.resolve("a.png")); // the same image again in the same job: memory
      stats.push({ disk: j.disk.stats(), memory: j.cache.stats() });
    }
    expect(new Set(urls).size).toBe(1);
    expect((await received(urls[0]!)).mime).toBe("image/png");
    expect(stats[0]!.disk).toMatchObject({ hits: 0, misses: 1, writes: 1 });
    for (const s of stats.slice(1)) expect(s.disk).toMatchObject({ hits: 1, misses: 0, writes: 0 });
    for (const s of stats) expect(s.memory).toMatchObject({ hits: 1, misses: 1 });
    // An image sent as it is costs a verdict on disk, not a copy of its bytes.
    const [entry] = await entries(cacheDir);
    expect((await stat(entry!)).size).toBeLessThan(300);
  });

  it("keeps re-encoded bytes: a later job sends them without reading the source", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const first = job(cacheDir);
    const url1 = await first.resolve("scan.tiff");
    expect(first.counts.readFile).toBe(1);
    const second = job(cacheDir);
    const url2 = await second.resolve("scan.tiff");
    expect(second.counts.readFile).toBe(0);
    expect(url2).toBe(url1);
    const img = await received(url2);
    expect(img.mime).toBe("image/png");
    expect([img.meta.width, img.meta.height]).toEqual([40, 30]);
  });

  it("remembers lasting refusals (not an image) with the same code and message", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const first = job(cacheDir);
    const e1 = await first.resolve("notes.png").catch((e) => e);
    expect(e1.code).toBe(ErrorCodes.IMAGE_DECODE);
    const second = job(cacheDir);
    const e2 = await second.resolve("notes.png").catch((e) => e);
    expect(e2.code).toBe(ErrorCodes.IMAGE_DECODE);
    expect(e2.message).toBe(e1.message);
    expect(second.disk.stats()).toMatchObject({ hits: 1, misses: 0 });
  });

  it("does not remember a missing file", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const j = job(cacheDir);
    await expect(j.resolve("nowhere.png")).rejects.toMatchObject({ code: ErrorCodes.IMAGE_NOT_FOUND });
    expect(j.disk.stats().writes).toBe(0);
  });

  it("checks again when the file changes (size or mtime) or the options do", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const file = path.join(dir, "changing.png");
    await writeFile(
      file,
      await sharp({ create: { width: 20, height: 20, channels: 3, background: "#00ff00" } })
        .png()
        .toBuffer(),
    );
    await job(cacheDir).resolve("changing.png");
    const same = job(cacheDir);
    await same.resolve("changing.png");
    expect(same.disk.stats().hits).toBe(1);

    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    const touched = job(cacheDir);
    await touched.resolve("changing.png");
    expect(touched.disk.stats()).toMatchObject({ hits: 0, misses: 1 });

    const jpeg = job(cacheDir, opts({ encode: "jpeg" }));
    const url = await jpeg.resolve("changing.png");
    expect(jpeg.disk.stats()).toMatchObject({ hits: 0, misses: 1 });
    expect((await received(url)).mime).toBe("image/jpeg");

    // The cache settings are not part of the key: another cache_bytes still hits.
    const other = job(cacheDir, opts({ cache_bytes: 1024 }));
    await other.resolve("changing.png");
    expect(other.disk.stats().hits).toBe(1);
  });

  it("checks again a file replaced with its old size and mtime kept (touch -r): a corrupt one is refused", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const file = path.join(dir, "replaced.png");
    const good = await sharp({ create: { width: 20, height: 20, channels: 3, background: "#0000ff" } })
      .png()
      .toBuffer();
    await writeFile(file, good);
    const url = await job(cacheDir).resolve("replaced.png");
    expect((await received(url)).mime).toBe("image/png");
    const before = await stat(file);
    // Replaced by as many zero bytes (another file renamed over it), its times set back.
    const tmp = `${file}.new`;
    await writeFile(tmp, Buffer.alloc(good.length));
    execFileSync("touch", ["-r", file, tmp]); // the times to the nanosecond
    await rename(tmp, file);
    const after = await stat(file);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    const again = job(cacheDir);
    await expect(again.resolve("replaced.png")).rejects.toMatchObject({ code: ErrorCodes.IMAGE_DECODE });
    expect(again.disk.stats()).toMatchObject({ hits: 0, misses: 1 });
  });

  it("checks a file rewritten between its stat and its read instead of sending it on the old verdict", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const file = path.join(dir, "race.png");
    await writeFile(file, await readFile(path.join(dir, "a.png")));
    await job(cacheDir).resolve("race.png"); // "send as is, image/png" on disk
    const jpeg = await sharp({ create: { width: 20, height: 10, channels: 3, background: "#00ff00" } })
      .jpeg()
      .toBuffer();
    // Another job stats the PNG, then a writer replaces it with a JPEG before the read.
    const fs: ImageFs = {
      stat: (f) => stat(f),
      readFile: async (f) => {
        await writeFile(file, jpeg);
        return readFile(f);
      },
    };
    const options = opts();
    const disk = createDiskImageCache(cacheDir);
    const url = await resolveImage("race.png", { baseDir: dir, options, disk, fs });
    const got = await received(url);
    expect([got.mime, got.meta.format, got.meta.width]).toEqual(["image/jpeg", "jpeg", 20]);
    // Nothing is written under the key of the stat the bytes did not come from.
    expect(disk.stats()).toMatchObject({ hits: 1, writes: 0 });
  });

  it("treats a damaged or foreign entry as a miss and rewrites it", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const url = await job(cacheDir).resolve("scan.tiff");
    const [entry] = await entries(cacheDir);
    const whole = await readFile(entry!);
    await writeFile(entry!, whole.subarray(0, whole.length - 10)); // torn bytes
    const j = job(cacheDir);
    expect(await j.resolve("scan.tiff")).toBe(url);
    expect(j.disk.stats()).toMatchObject({ hits: 0, misses: 1, writes: 1 });
    await writeFile(entry!, "not an entry at all");
    const k = job(cacheDir);
    expect(await k.resolve("scan.tiff")).toBe(url);
    expect(k.disk.stats()).toMatchObject({ hits: 0, misses: 1 });
    expect(await readFile(entry!)).toEqual(whole);
  });

  it("goes on without the cache when the folder cannot be written", async () => {
    const notADir = path.join(dir, "plain-file");
    await writeFile(notADir, "x");
    const j = job(path.join(notADir, "cache"));
    const url = await j.resolve("a.png");
    expect((await received(url)).mime).toBe("image/png");
    expect(j.disk.stats()).toMatchObject({ writes: 0, writeErrors: 1 });
    expect(j.disk.stats().firstWriteError).toMatch(/ENOTDIR|EEXIST|not a directory/i);
  });

  it("lets concurrent jobs write the same entry: both answers and the entry are whole", async () => {
    const cacheDir = await mkdtemp(path.join(dir, "c-"));
    const jobs = [job(cacheDir), job(cacheDir), job(cacheDir)];
    const urls = await Promise.all(jobs.map((j) => j.resolve("scan.tiff")));
    expect(new Set(urls).size).toBe(1);
    const files = await entries(cacheDir);
    expect(files).toHaveLength(1); // no temporary left behind
    const j = job(cacheDir);
    expect(await j.resolve("scan.tiff")).toBe(urls[0]);
    expect(j.disk.stats().hits).toBe(1);
  });

  it("does not keep a download's refusal: a page served one day in place of the image is fetched anew the next", async () => {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#654321" } })
      .png()
      .toBuffer();
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      if (requests === 1) res.writeHead(200, { "content-type": "text/html" }).end("<html>rate limited</html>");
      else res.writeHead(200, { "content-type": "image/png" }).end(png);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chart.png`;
      const cacheDir = await mkdtemp(path.join(dir, "c-"));
      const options = opts({ fetch: true });
      await expect(job(cacheDir, options).resolve(url)).rejects.toMatchObject({ code: ErrorCodes.IMAGE_DECODE });
      const later = await job(cacheDir, options).resolve(url);
      expect(requests).toBe(2);
      expect((await received(later)).bytes).toEqual(png);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("keeps downloaded images whole, so a later job does not download them again", async () => {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#123456" } })
      .png()
      .toBuffer();
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "image/png" }).end(png);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/figure.png`;
      const cacheDir = await mkdtemp(path.join(dir, "c-"));
      const options = opts({ fetch: true });
      const a = await job(cacheDir, options).resolve(url);
      const b = await job(cacheDir, options).resolve(url);
      expect(requests).toBe(1);
      expect(b).toBe(a);
      expect((await received(b)).bytes).toEqual(png);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
