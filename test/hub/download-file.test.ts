import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { VlmError } from "../../src/errors.js";
import { type DownloadHubFileOptions, downloadHubFile } from "../../src/hub/download-file.js";
import { type HubFile, listHubFiles } from "../../src/hub/list-files.js";
import { createProgress } from "../../src/hub/progress.js";
import { type FakeHub, startFakeHub } from "../helpers/fake-hub.js";

const TOKEN = "hf_fakeTokenForLoopbackTests0123";
const REPO = "acme/shards";
const FAST = { retries: 3, minDelayMs: 1, maxDelayMs: 5 };

let root: string;
let big: Buffer;
let hub: FakeHub;
let work: string;
let lines: string[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "vlmpipe-hubroot-"));
  const repoDir = join(root, "datasets", "acme", "shards");
  await mkdir(join(repoDir, "data dir"), { recursive: true });
  big = randomBytes(300_000);
  await writeFile(join(repoDir, "data dir", "test-00000-of-00001.parquet"), big);
  await writeFile(join(repoDir, "README.md"), "# acme shards\n");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  hub = await startFakeHub({ root, token: TOKEN });
  work = await mkdtemp(join(tmpdir(), "vlmpipe-dl-"));
  lines = [];
});

afterEach(async () => {
  await hub.close();
  await rm(work, { recursive: true, force: true });
});

const hubCfg = () => ({ hubUrl: hub.url, accessToken: TOKEN });

async function fileEntry(path: string): Promise<HubFile> {
  const files = await listHubFiles({ repo: REPO, recursive: true, hub: hubCfg() });
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} in listing`);
  return f;
}

function download(file: HubFile, extra: Partial<DownloadHubFileOptions> = {}) {
  return downloadHubFile({
    repo: REPO,
    file,
    dest: join(work, "out.parquet"),
    hub: hubCfg(),
    retry: FAST,
    progress: createProgress({ log: (l) => lines.push(l), intervalMs: 0 }),
    ...extra,
  });
}

const BIG = "data dir/test-00000-of-00001.parquet";
const cdnGets = () => hub.requests.filter((r) => r.server === "cdn" && r.method === "GET");

describe("downloadHubFile", () => {
  test("follows the hub's redirect to the CDN and verifies the sha256 from the listing", async () => {
    const file = await fileEntry(BIG);
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    const r = await download(file);
    expect(r).toMatchObject({ skipped: false, received: big.length, resumedFrom: 0, attempts: 1 });
    expect(await sameBytes(r.path, big)).toBe(true);
    expect((await readdir(work)).sort()).toEqual(["out.parquet", "out.parquet.checksum"]);
    expect(lines.at(-1)).toMatch(/done, 300\.0 KB .*sha256 verified/);
  });

  test("sends HF_TOKEN as a Bearer token to the hub only, never to the CDN, and never prints it", async () => {
    const file = await fileEntry(BIG);
    await download(file);
    const hubReqs = hub.requests.filter((r) => r.server === "hub");
    expect(hubReqs.length).toBeGreaterThan(0);
    for (const r of hubReqs) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of hub.requests.filter((x) => x.server === "cdn")) expect(r.authorization).toBeUndefined();
    expect(lines.join("\n")).not.toContain(TOKEN);
  });

  test("reports a 401 without the right token, without retrying and without echoing the token", async () => {
    const file = await fileEntry(BIG);
    const wrong = "hf_wrongTokenThatMustNotBePrinted";
    const err = await download(file, { hub: { hubUrl: hub.url, accessToken: wrong } }).catch((e) => e);
    expect(err).toBeInstanceOf(VlmError);
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status: 401 });
    expect(err.message).toMatch(/HF_TOKEN/);
    expect(`${err.message} ${JSON.stringify(err)} ${lines.join("\n")}`).not.toContain(wrong);
    expect(hub.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });

  test("resumes a download cut mid-body with a Range request, ending with identical bytes", async () => {
    const file = await fileEntry(BIG);
    hub.faults.cutAfterBytes = 100_000;
    hub.faults.holdCut = true;
    const pending = download(file);
    // Cut only once the 100,000 bytes sent are on disk, so the resume point is exact.
    await until(async () => (await stat(join(work, "out.parquet.incomplete")).catch(() => null))?.size === 100_000);
    await hub.releaseCut();
    const r = await pending;
    expect(await sameBytes(r.path, big)).toBe(true);
    const gets = cdnGets();
    expect(gets).toHaveLength(2);
    expect(gets[0]!.range).toBeUndefined();
    // Every byte that arrived before the cut is kept: the second request starts after them.
    expect(gets[1]!.range).toBe("bytes=100000-");
    expect(gets[1]!.status).toBe(206);
    expect(r.attempts).toBe(2);
    expect(r.received).toBe(big.length);
    expect(lines.some((l) => /retry 1\/3/.test(l))).toBe(true);
  });

  test("recovers when the connection drops right after some bytes", async () => {
    const file = await fileEntry(BIG);
    hub.faults.cutAfterBytes = 70_000;
    const r = await download(file);
    expect(await sameBytes(r.path, big)).toBe(true);
    expect(cdnGets()).toHaveLength(2);
  });

  test("resumes a .incomplete file left by an earlier run from its size", async () => {
    const file = await fileEntry(BIG);
    await writeFile(join(work, "out.parquet.incomplete"), big.subarray(0, 123_456));
    const r = await download(file);
    expect(r).toMatchObject({ resumedFrom: 123_456, received: big.length - 123_456, attempts: 1 });
    expect(cdnGets().map((g) => g.range)).toEqual(["bytes=123456-"]);
    expect(await sameBytes(r.path, big)).toBe(true);
    expect(lines[0]).toMatch(/resuming at 123\.5 KB \/ 300\.0 KB/);
  });

  test("retries 503 answers (with Retry-After) and then succeeds", async () => {
    const file = await fileEntry(BIG);
    hub.faults.fail503 = 2;
    hub.faults.retryAfter = 0;
    const r = await download(file);
    expect(await sameBytes(r.path, big)).toBe(true);
    expect(hub.requests.filter((x) => x.status === 503)).toHaveLength(2);
    expect(lines.filter((l) => /HTTP 503/.test(l))).toHaveLength(2);
  });

  test("gives up after the retry budget with the status on the error", async () => {
    const file = await fileEntry(BIG);
    hub.faults.fail503 = 100;
    const err = await download(file, { retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 } }).catch((e) => e);
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status: 503 });
    expect(err.message).toMatch(/after 3 attempts/);
    expect(hub.requests.filter((x) => x.status === 503)).toHaveLength(3);
  });

  test("skips a file that is already complete without a request", async () => {
    const file = await fileEntry(BIG);
    await download(file);
    const before = hub.requests.length;
    const again = await download(file);
    expect(again).toMatchObject({ skipped: true, received: 0, attempts: 0 });
    expect(hub.requests.length).toBe(before);
    expect(lines.at(-1)).toMatch(/already complete/);
  });

  test("downloads again a cached file the hub replaced with one of the same size; hashes once a copy without its record", async () => {
    const file = await fileEntry(BIG);
    const dest = join(work, "out.parquet");
    await download(file);
    expect((await readFile(`${dest}.checksum`, "utf8")).trim()).toBe(file.sha256);
    // A copy cached by an earlier version (no record): hashed, found right, kept, recorded.
    await rm(`${dest}.checksum`);
    expect(await download(file)).toMatchObject({ skipped: true, received: 0 });
    expect((await readFile(`${dest}.checksum`, "utf8")).trim()).toBe(file.sha256);
    // Upstream replaces the shard with other bytes of the same size (the cache is kept by
    // revision name): the listing's sha256 changes, and the copy is not taken on its size.
    const shard = join(root, "datasets", "acme", "shards", BIG);
    const replacement = randomBytes(big.length);
    await writeFile(shard, replacement);
    await hub.close();
    hub = await startFakeHub({ root, token: TOKEN }); // (it reads the files' checksums at start)
    try {
      const changed = await fileEntry(BIG);
      expect(changed.size).toBe(file.size);
      expect(changed.sha256).not.toBe(file.sha256);
      const r = await download(changed);
      expect(r.skipped).toBe(false);
      expect((await readFile(dest)).equals(replacement)).toBe(true);
      expect((await readFile(`${dest}.checksum`, "utf8")).trim()).toBe(changed.sha256);
    } finally {
      await writeFile(shard, big);
    }
  });

  test("starts over from byte 0 when the server ignores Range", async () => {
    const file = await fileEntry(BIG);
    await writeFile(join(work, "out.parquet.incomplete"), big.subarray(0, 50_000));
    hub.faults.ignoreRange = true;
    const r = await download(file);
    expect(cdnGets()[0]!.status).toBe(200);
    expect(await sameBytes(r.path, big)).toBe(true);
  });

  test("downloads again from the start, once, when a resumed file fails its sha256", async () => {
    const file = await fileEntry(BIG);
    await writeFile(join(work, "out.parquet.incomplete"), randomBytes(10_000));
    const r = await download(file);
    expect(await sameBytes(r.path, big)).toBe(true);
    expect(cdnGets().map((g) => g.range)).toEqual(["bytes=10000-", undefined]);
    expect(lines.some((l) => /does not match/.test(l))).toBe(true);
  });

  test("fails with VLM_E_DATA when a fresh download does not match the listed sha256", async () => {
    const file = { ...(await fileEntry(BIG)), sha256: "0".repeat(64) };
    const err = await download(file).catch((e) => e);
    expect(err).toMatchObject({ code: "VLM_E_DATA" });
    await expect(stat(join(work, "out.parquet"))).rejects.toThrow();
    await expect(stat(join(work, "out.parquet.incomplete"))).rejects.toThrow();
  });

  test("checks a plain git file by its git blob id", async () => {
    const file = await fileEntry("README.md");
    expect(file.sha256).toBeUndefined();
    expect(file.gitOid).toMatch(/^[0-9a-f]{40}$/);
    const r = await download(file, { dest: join(work, "README.md") });
    expect(await readFile(r.path, "utf8")).toBe("# acme shards\n");
    expect(lines.at(-1)).toMatch(/git-oid verified/);
  });

  test("does not retry a 404", async () => {
    const err = await download({ path: "nope.parquet", size: 10 }).catch((e) => e);
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status: 404 });
    expect(hub.requests.filter((r) => r.status === 404)).toHaveLength(1);
    expect(await readdir(work)).toEqual([]);
  });

  test("stops when the signal aborts, keeping the partial file for a resume", async () => {
    const file = await fileEntry(BIG);
    hub.faults.fail503 = 100;
    const ac = new AbortController();
    const p = download(file, { signal: ac.signal, retry: { retries: 50, minDelayMs: 200, maxDelayMs: 200 } });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: "VLM_E_ABORTED" });
  });
});

// Byte-wise, not toEqual: vitest's deep equality walks a 300 KB buffer element by element.
async function sameBytes(path: string, expected: Buffer): Promise<boolean> {
  return Buffer.compare(await readFile(path), expected) === 0;
}

/** Polls `cond` every 10 ms, for at most 10 s. */
async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("condition not reached in 10 s");
}
