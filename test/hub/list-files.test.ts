import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { hubConfigFromEnv } from "../../src/hub/config.js";
import { listHubFiles } from "../../src/hub/list-files.js";
import { createProgress, fmtBytes } from "../../src/hub/progress.js";
import { backoffDelay, parseRetryAfter } from "../../src/hub/retry.js";
import { type FakeHub, startFakeHub } from "../helpers/fake-hub.js";

const ROOT = "fixtures/hub";
const REPO = "MMMU/MMMU_Pro";
const FAST = { retries: 3, minDelayMs: 1, maxDelayMs: 5 };

let hub: FakeHub;
beforeEach(async () => {
  // One entry per page: every listing below goes through the Link rel="next" chain.
  hub = await startFakeHub({ root: ROOT, pageSize: 1 });
});
afterEach(() => hub.close());

describe("listHubFiles", () => {
  test("lists a folder whose name has spaces, following every page of the tree API", async () => {
    const files = await listHubFiles({ repo: REPO, path: "standard (10 options)", hub: { hubUrl: hub.url } });
    expect(files.map((f) => f.path)).toEqual([
      "standard (10 options)/test-00000-of-00002.parquet",
      "standard (10 options)/test-00001-of-00002.parquet",
    ]);
    for (const f of files) {
      expect(f.sha256).toBe(hub.file(REPO, f.path)!.sha256);
      expect(f.size).toBe(hub.file(REPO, f.path)!.bytes.length);
    }
    const trees = hub.requests.filter((r) => r.path.includes("/tree/"));
    expect(trees).toHaveLength(2);
    expect(trees[0]!.path).toBe("/api/datasets/MMMU/MMMU_Pro/tree/main/standard (10 options)");
  });

  test("lists only files, not folders, at the repo root unless recursive", async () => {
    const top = await listHubFiles({ repo: REPO, hub: { hubUrl: hub.url } });
    expect(top.map((f) => f.path)).toEqual(["README.md"]);
    expect(top[0]!.gitOid).toMatch(/^[0-9a-f]{40}$/);
    const all = await listHubFiles({ repo: REPO, recursive: true, hub: { hubUrl: hub.url } });
    expect(all).toHaveLength(7);
  });

  test("retries a 503 from the tree API", async () => {
    hub.faults.fail503 = 2;
    const lines: string[] = [];
    const files = await listHubFiles({
      repo: REPO,
      path: "vision",
      hub: { hubUrl: hub.url },
      retry: FAST,
      log: (l) => lines.push(l),
    });
    expect(files).toHaveLength(2);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/\/api\/datasets\/MMMU\/MMMU_Pro\/tree\/main\/vision: HTTP 503, retry 1\/3/);
  });

  test("turns an unknown revision into VLM_E_HTTP 404 naming the repo and revision", async () => {
    const err = await listHubFiles({ repo: REPO, path: "vision", revision: "v9", hub: { hubUrl: hub.url } }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status: 404 });
    expect(err.message).toContain("MMMU/MMMU_Pro/vision@v9");
    expect(err.message).toMatch(/--revision/);
  });

  test("asks for HF_TOKEN on a 401 and sends the token it has as a Bearer token", async () => {
    await hub.close();
    hub = await startFakeHub({ root: ROOT, token: "hf_listToken" });
    const err = await listHubFiles({ repo: REPO, path: "vision", hub: { hubUrl: hub.url } }).catch((e) => e);
    expect(err).toMatchObject({ code: "VLM_E_HTTP", status: 401 });
    expect(err.message).toMatch(/HF_TOKEN/);
    const ok = await listHubFiles({
      repo: REPO,
      path: "vision",
      hub: { hubUrl: hub.url, accessToken: "hf_listToken" },
    });
    expect(ok).toHaveLength(2);
    expect(hub.requests.at(-1)!.authorization).toBe("Bearer hf_listToken");
  });
});

describe("hubConfigFromEnv", () => {
  test("reads HF_ENDPOINT (without its trailing slash) and HF_TOKEN", () => {
    expect(hubConfigFromEnv({ HF_ENDPOINT: "http://127.0.0.1:9/", HF_TOKEN: "hf_abc" })).toEqual({
      hubUrl: "http://127.0.0.1:9",
      accessToken: "hf_abc",
    });
    expect(hubConfigFromEnv({})).toEqual({ hubUrl: "https://huggingface.co" });
    expect(hubConfigFromEnv({ HUGGING_FACE_HUB_TOKEN: "hf_old" }).accessToken).toBe("hf_old");
  });

  test("takes an empty HF_TOKEN as unset, so HUGGING_FACE_HUB_TOKEN still counts (as huggingface_hub does)", () => {
    expect(hubConfigFromEnv({ HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "hf_old" }).accessToken).toBe("hf_old");
    expect(hubConfigFromEnv({ HF_TOKEN: "hf_new", HUGGING_FACE_HUB_TOKEN: "hf_old" }).accessToken).toBe("hf_new");
    expect(hubConfigFromEnv({ HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "" })).toEqual({
      hubUrl: "https://huggingface.co",
    });
    expect(hubConfigFromEnv({ HF_TOKEN: " hf_abc\r\n" }).accessToken).toBe("hf_abc");
  });

  test("rejects a token that is not an hf_ token without echoing it", () => {
    const bad = "sk-notAHuggingFaceToken";
    let message = "";
    try {
      hubConfigFromEnv({ HF_TOKEN: bad });
    } catch (e) {
      expect(e).toMatchObject({ code: "VLM_E_USAGE" });
      message = (e as Error).message;
    }
    expect(message).toMatch(/hf_/);
    expect(message).not.toContain(bad);
  });

  test("rejects an HF_ENDPOINT that is not an http(s) URL", () => {
    expect(() => hubConfigFromEnv({ HF_ENDPOINT: "ftp://mirror" })).toThrow(/http\(s\)/);
    expect(() => hubConfigFromEnv({ HF_ENDPOINT: "not a url" })).toThrow(/not a URL/);
  });
});

describe("retry and progress helpers", () => {
  test("backs off exponentially up to the cap, and Retry-After wins", () => {
    const opts = { retries: 5, minDelayMs: 1000, maxDelayMs: 5000 };
    expect(backoffDelay(1, opts)).toBeGreaterThanOrEqual(750);
    expect(backoffDelay(1, opts)).toBeLessThanOrEqual(1000);
    expect(backoffDelay(3, opts)).toBeGreaterThanOrEqual(3000);
    expect(backoffDelay(10, opts)).toBeLessThanOrEqual(5000);
    expect(backoffDelay(1, opts, 2)).toBe(2000);
    expect(backoffDelay(1, opts, 60)).toBe(5000);
    expect(parseRetryAfter("7")).toBe(7);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  test("prints a start line, at most one progress line per interval, and an end line", () => {
    let t = 0;
    const lines: string[] = [];
    const p = createProgress({ log: (l) => lines.push(l), intervalMs: 1000, now: () => t });
    const f = p.file("x.parquet", 4_000_000, 0);
    for (let i = 1; i <= 40; i++) {
      t += 100;
      f.update(i * 100_000);
    }
    f.finish("sha256 verified");
    expect(lines[0]).toBe("[hub] x.parquet: downloading 4.0 MB");
    expect(lines.slice(1, -1)).toHaveLength(4);
    expect(lines[1]).toBe("[hub] x.parquet: 1.0 MB / 4.0 MB (25%) 1.0 MB/s");
    expect(lines.at(-1)).toBe("[hub] x.parquet: done, 4.0 MB in 4.0 s (sha256 verified)");
    expect(fmtBytes(999)).toBe("999 B");
  });
});
