import http from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, gzipSync } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";
import { fetchImage, redactUrl } from "../../src/images/fetch-image.js";
import { createImageCache } from "../../src/images/image-cache.js";
import { resolveImage } from "../../src/images/resolve-image.js";
import { opts, received } from "./helpers.js";

// A loopback server with one behaviour per path; `hits` counts requests per path.
let server: http.Server;
let base: string;
let png: Buffer;
let tiff: Buffer;
const hits = new Map<string, number>();
const flaky = { failures: 0 };

beforeAll(async () => {
  png = await sharp({ create: { width: 30, height: 20, channels: 3, background: "#ff0000" } })
    .png()
    .toBuffer();
  tiff = await sharp({ create: { width: 30, height: 20, channels: 3, background: "#0000ff" } })
    .tiff({ compression: "lzw" })
    .toBuffer();
  server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    hits.set(url, (hits.get(url) ?? 0) + 1);
    if (url === "/a.png") return void res.writeHead(200, { "content-type": "image/png" }).end(png);
    if (url === "/scan.tiff") return void res.writeHead(200, { "content-type": "image/tiff" }).end(tiff);
    if (url === "/moved") return void res.writeHead(302, { location: "/a.png" }).end();
    if (url.startsWith("/loop"))
      return void res.writeHead(302, { location: `/loop${Number(url.slice(5) || 0) + 1}` }).end();
    if (url === "/no-location") return void res.writeHead(301).end();
    if (url === "/missing.png") return void res.writeHead(404).end("no");
    if (url === "/flaky.png") {
      if (flaky.failures-- > 0) return void res.writeHead(503, { "retry-after": "0" }).end("busy");
      return void res.writeHead(200).end(png);
    }
    if (url === "/big.png") return void res.writeHead(200, { "content-length": String(10_000_000) }).end();
    if (url === "/chunked-big") {
      res.writeHead(200); // no Content-Length: the cap must hold while streaming
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let i = 0; i < 20; i++) res.write(chunk);
      return void res.end();
    }
    if (url === "/slow.png") return void setTimeout(() => res.writeHead(200).end(png), 2000).unref();
    if (url === "/gz.png") return void res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(png));
    if (url === "/br-gz.png")
      return void res.writeHead(200, { "content-encoding": "gzip, br" }).end(brotliCompressSync(gzipSync(png)));
    if (url === "/bomb.png")
      return void res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(Buffer.alloc(5_000_000)));
    if (url === "/bad-gz.png") return void res.writeHead(200, { "content-encoding": "gzip" }).end(png);
    if (url === "/zstd.png") return void res.writeHead(200, { "content-encoding": "zstd" }).end(png);
    if (url === "/page.png") return void res.writeHead(200, { "content-type": "text/html" }).end("<html>login</html>");
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => hits.clear());

const fetchOpts = (over: Record<string, unknown> = {}) => opts({ fetch: true, ...over });

describe("remote images", () => {
  it("passes http(s) URLs through untouched by default", async () => {
    const url = `${base}/a.png`;
    expect(await resolveImage(url, { baseDir: "/", options: opts() })).toBe(url);
    expect(hits.size).toBe(0);
  });

  it("downloads with fetch: true and sends the original bytes as a data URL", async () => {
    const url = await resolveImage(`${base}/a.png`, { baseDir: "/", options: fetchOpts() });
    expect(url).toBe(`data:image/png;base64,${png.toString("base64")}`);
  });

  it("puts a downloaded TIFF through the same conversion as a local one", async () => {
    const r = await received(await resolveImage(`${base}/scan.tiff`, { baseDir: "/", options: fetchOpts() }));
    expect([r.mime, r.meta.width, r.meta.height]).toEqual(["image/png", 30, 20]);
  });

  it("follows redirects", async () => {
    const url = await resolveImage(`${base}/moved`, { baseDir: "/", options: fetchOpts() });
    expect(url.startsWith("data:image/png;base64,")).toBe(true);
  });

  it("downloads a URL once for 4 resolutions through the cache", async () => {
    const options = fetchOpts();
    const cache = createImageCache(options);
    await Promise.all([1, 2].map(() => resolveImage(`${base}/a.png`, { baseDir: "/", options, cache })));
    await resolveImage(`${base}/a.png`, { baseDir: "/", options, cache });
    await resolveImage(`${base}/a.png`, { baseDir: "/", options, cache });
    expect(hits.get("/a.png")).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 1 });
  });

  it("fails a redirect loop and a redirect without Location as IMAGE_FETCH, not as an empty image", async () => {
    for (const path of ["/loop", "/no-location"]) {
      await expect(resolveImage(`${base}${path}`, { baseDir: "/", options: fetchOpts() })).rejects.toMatchObject({
        code: ErrorCodes.IMAGE_FETCH,
        status: path === "/loop" ? 302 : 301,
        message: expect.stringMatching(/not followed/),
      });
    }
    expect(hits.get("/loop")).toBe(1); // not retried: a loop stays a loop
  });

  it("retries a 503 and succeeds", async () => {
    flaky.failures = 2;
    const bytes = await fetchImage(`${base}/flaky.png`, fetchOpts({ fetch_retries: 2 }));
    expect(bytes.equals(png)).toBe(true);
    expect(hits.get("/flaky.png")).toBe(3);
  });

  it("gives up after fetch_retries and says how many attempts were made", async () => {
    flaky.failures = 5;
    await expect(fetchImage(`${base}/flaky.png`, fetchOpts({ fetch_retries: 1 }))).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_FETCH,
      status: 503,
      message: expect.stringMatching(/flaky\.png: HTTP 503 \(after 2 attempts\)/),
    });
  });

  it("does not retry a 404", async () => {
    await expect(fetchImage(`${base}/missing.png`, fetchOpts())).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_FETCH,
      status: 404,
    });
    expect(hits.get("/missing.png")).toBe(1);
  });

  it("refuses a body over fetch_max_bytes, by Content-Length and while streaming", async () => {
    await expect(fetchImage(`${base}/big.png`, fetchOpts({ fetch_max_bytes: 1_000_000 }))).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_TOO_LARGE,
    });
    await expect(fetchImage(`${base}/chunked-big`, fetchOpts({ fetch_max_bytes: 200_000 }))).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_TOO_LARGE,
      message: expect.stringMatching(/more than 200000 bytes received/),
    });
  });

  it("undoes the body's Content-Encoding (gzip, deflate, br, in layers) as vLLM's download does", async () => {
    expect(await fetchImage(`${base}/gz.png`, fetchOpts())).toEqual(png);
    expect(await fetchImage(`${base}/br-gz.png`, fetchOpts())).toEqual(png);
    const url = await resolveImage(`${base}/gz.png`, { baseDir: ".", options: fetchOpts() });
    expect((await received(url)).bytes).toEqual(png);
  });

  it("holds fetch_max_bytes on the decoded bytes, and fails a body that does not decode, once", async () => {
    await expect(fetchImage(`${base}/bomb.png`, fetchOpts({ fetch_max_bytes: 1_000_000 }))).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_TOO_LARGE,
    });
    await expect(fetchImage(`${base}/bad-gz.png`, fetchOpts())).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_FETCH,
      message: expect.stringMatching(/does not decode as its Content-Encoding gzip/),
    });
    expect(hits.get("/bad-gz.png")).toBe(1);
    await expect(fetchImage(`${base}/zstd.png`, fetchOpts())).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_FETCH,
      message: expect.stringMatching(/unsupported Content-Encoding "zstd"/),
    });
  });

  it("times out a slow server per attempt", async () => {
    await expect(
      fetchImage(`${base}/slow.png`, fetchOpts({ fetch_timeout: 0.2, fetch_retries: 0 })),
    ).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_FETCH,
      message: expect.stringMatching(/timed out after 0.2 s/),
    });
  });

  it("checks downloaded bytes like a local file", async () => {
    await expect(resolveImage(`${base}/page.png`, { baseDir: "/", options: fetchOpts() })).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_DECODE,
      message: expect.stringMatching(/page\.png: not an image .*<html>login/),
    });
  });

  it("reports a refused connection as a retryable IMAGE_FETCH", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(fetchImage(`http://127.0.0.1:${port}/x.png`, fetchOpts({ fetch_retries: 0 }))).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_FETCH,
      retryable: true,
    });
  });

  it("aborts a download when the caller's signal fires", async () => {
    const ac = new AbortController();
    const p = fetchImage(`${base}/slow.png`, fetchOpts(), ac.signal);
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  });

  it("removes credentials from URLs in messages", () => {
    expect(redactUrl("https://user:secret@example.com/a.png?x=1")).toBe("https://example.com/a.png?x=1");
  });
});
