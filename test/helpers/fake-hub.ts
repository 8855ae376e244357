/**
 * A loopback stand-in for the Hugging Face hub, serving a folder laid out as
 * `<root>/datasets/<owner>/<name>/<path in repo>` (fixtures/hub) the way the hub does:
 *
 * - `GET /api/datasets/{repo}/tree/{rev}[/{path}]?recursive=&expand=[&cursor=]`: JSON entries
 *   `{type, oid, size, path, lfs?: {oid, size, pointerSize}, xetHash?}`, paged with
 *   `Link: <...>; rel="next"`. Parquet files are "LFS" (lfs.oid = sha256); others are plain
 *   git blobs (oid = git blob sha1).
 * - `GET|HEAD /datasets/{repo}/resolve/{rev}/{path}`: plain files answered directly (Range
 *   honoured); LFS files answered `302` to a signed-looking URL on a second server, the
 *   "CDN", on another port (so another origin, as on the real hub), with X-Repo-Commit,
 *   ETag, X-Linked-Etag and X-Linked-Size.
 * - CDN `GET|HEAD /cdn/{sha256}?X-Amz-...`: the bytes, `206` + Content-Range for a Range.
 * - Errors with the hub's `X-Error-Code` (EntryNotFound, RevisionNotFound, RepoNotFound).
 * - A token: when set, hub endpoints answer 401 without `Authorization: Bearer <token>`
 *   (the CDN checks its signature instead, and records any Authorization it gets).
 * - Faults, changeable while running: the first N matching requests answer 503; the next
 *   CDN body is cut (socket destroyed) after K bytes, once; Range can be ignored.
 *
 * Only ever listens on 127.0.0.1.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, sep } from "node:path";

export type FakeHubOptions = {
  /** Folder with datasets/<owner>/<name>/... */
  root: string;
  /** When set, hub endpoints require `Authorization: Bearer <token>`. */
  token?: string;
  /** Tree API entries per page (the real hub pages at 1000 for recursive listings). */
  pageSize?: number;
  /** Revisions that exist besides `main` and the commit sha. */
  revisions?: string[];
};

export type RecordedRequest = {
  server: "hub" | "cdn";
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  range?: string;
  authorization?: string;
  status: number;
};

export type Faults = {
  /** Answer this many matching requests with 503 (decremented as they happen). */
  fail503: number;
  /** Which requests fail503 applies to; default every request. */
  fail503On?: (r: { server: "hub" | "cdn"; path: string }) => boolean;
  /** Retry-After (seconds) sent with injected 503s. */
  retryAfter?: number;
  /** Cut the next file body after this many bytes (the connection ends), then clear. */
  cutAfterBytes?: number;
  /**
   * Hold the cut body open after its bytes until `releaseCut()`: a test can wait until the
   * client has written them all, so what reaches the disk before the cut is exact.
   */
  holdCut?: boolean;
  /** Answer ranged requests with 200 and the whole file, like a server without Range support. */
  ignoreRange?: boolean;
};

type RepoFile = { path: string; bytes: Buffer; sha256: string; gitOid: string; lfs: boolean };
type Repo = { files: Map<string, RepoFile> };

export type FakeHub = {
  url: string;
  cdnUrl: string;
  commit: string;
  requests: RecordedRequest[];
  faults: Faults;
  /** Ends the connection held by `faults.holdCut`; resolves once it has been cut. */
  releaseCut(): Promise<void>;
  /** The bytes the hub serves for a repo file, for comparisons. */
  file(repo: string, path: string): RepoFile | undefined;
  close(): Promise<void>;
};

const COMMIT = "4e2f1c7d9b8a6f5e4d3c2b1a0f9e8d7c6b5a4f3e";

export async function startFakeHub(opts: FakeHubOptions): Promise<FakeHub> {
  const repos = await loadRepos(opts.root);
  const requests: RecordedRequest[] = [];
  const faults: Faults = { fail503: 0 };
  let heldCut: { ready: Promise<() => void> } | undefined;
  let announceHeld: ((cut: () => void) => void) | undefined;
  const newHold = () => {
    heldCut = { ready: new Promise((resolve) => (announceHeld = resolve)) };
  };
  newHold();
  const revisions = new Set(["main", COMMIT, ...(opts.revisions ?? [])]);
  const bySha = new Map<string, RepoFile>();
  for (const repo of repos.values()) for (const f of repo.files.values()) bySha.set(f.sha256, f);
  const pageSize = opts.pageSize ?? 1000;

  let hubUrl = "";
  let cdnUrl = "";

  const record = (server: "hub" | "cdn", req: IncomingMessage, res: ServerResponse, path: string) => {
    const entry: RecordedRequest = {
      server,
      method: req.method ?? "GET",
      path,
      range: req.headers.range,
      authorization: req.headers.authorization,
      status: 0,
    };
    requests.push(entry);
    res.on("finish", () => (entry.status = res.statusCode));
    res.on("close", () => (entry.status ||= res.statusCode));
  };

  const injected503 = (server: "hub" | "cdn", path: string, res: ServerResponse): boolean => {
    if (faults.fail503 <= 0) return false;
    if (faults.fail503On && !faults.fail503On({ server, path })) return false;
    faults.fail503--;
    const headers: Record<string, string> = {};
    if (faults.retryAfter !== undefined) headers["retry-after"] = String(faults.retryAfter);
    sendJson(res, 503, { error: "Service Unavailable" }, headers);
    return true;
  };

  const hub = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = safeDecode(u.pathname);
    record("hub", req, res, path);
    if (injected503("hub", path, res)) return;

    const tree = /^\/api\/datasets\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(path);
    const resolve = /^\/datasets\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!tree && !resolve) return sendJson(res, 404, { error: "Not Found" });

    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      return sendJson(
        res,
        401,
        { error: "Invalid credentials in Authorization header" },
        {
          "x-error-code": "RepoNotFound",
        },
      );
    }
    const [, repoName, revision] = (tree ?? resolve)!;
    const repo = repos.get(repoName!);
    if (!repo) return sendJson(res, 401, { error: "Repository not found" }, { "x-error-code": "RepoNotFound" });
    if (!revisions.has(revision!)) {
      return sendJson(res, 404, { error: `Invalid rev id: ${revision}` }, { "x-error-code": "RevisionNotFound" });
    }
    if (tree) return treeApi(res, u, repo, tree[3] ?? "");
    return resolveFile(req, res, repo, resolve![3]!);
  });

  const treeApi = (res: ServerResponse, u: URL, repo: Repo, dir: string) => {
    const recursive = u.searchParams.get("recursive") === "true";
    const prefix = dir ? `${dir}/` : "";
    const paths = [...repo.files.keys()].filter((p) => p.startsWith(prefix));
    if (dir && paths.length === 0 && !repo.files.has(dir)) {
      return sendJson(res, 404, { error: `Entry not found` }, { "x-error-code": "EntryNotFound" });
    }
    const entries: Record<string, unknown>[] = [];
    const dirs = new Set<string>();
    for (const p of paths.sort()) {
      const rest = p.slice(prefix.length);
      if (!recursive && rest.includes("/")) {
        const d = prefix + rest.split("/")[0];
        if (!dirs.has(d)) {
          dirs.add(d);
          entries.push({ type: "directory", oid: sha1(d), size: 0, path: d });
        }
        continue;
      }
      const f = repo.files.get(p)!;
      entries.push(
        f.lfs
          ? {
              type: "file",
              oid: sha1(`pointer ${f.sha256}`),
              size: f.bytes.length,
              path: p,
              lfs: { oid: f.sha256, size: f.bytes.length, pointerSize: 134 },
              xetHash: sha256(`xet ${f.sha256}`),
            }
          : { type: "file", oid: f.gitOid, size: f.bytes.length, path: p },
      );
    }
    const cursor = Number(u.searchParams.get("cursor") ?? "0");
    const page = entries.slice(cursor, cursor + pageSize);
    const headers: Record<string, string> = {};
    if (cursor + pageSize < entries.length) {
      const next = new URL(`${hubUrl}${u.pathname}`);
      next.search = u.search;
      next.searchParams.set("cursor", String(cursor + pageSize));
      headers.link = `<${next.href}>; rel="next"`;
    }
    sendJson(res, 200, page, headers);
  };

  const resolveFile = (req: IncomingMessage, res: ServerResponse, repo: Repo, path: string) => {
    const f = repo.files.get(path);
    if (!f) return sendJson(res, 404, { error: "Entry not found" }, { "x-error-code": "EntryNotFound" });
    const common = { "x-repo-commit": COMMIT, "accept-ranges": "bytes" };
    if (f.lfs) {
      res.writeHead(302, {
        ...common,
        etag: `"${f.gitOid}"`,
        "x-linked-etag": `"${f.sha256}"`,
        "x-linked-size": String(f.bytes.length),
        location: `${cdnUrl}/cdn/${f.sha256}?X-Amz-Signature=fake&X-Amz-Expires=3600`,
        "content-length": "0",
      });
      return res.end();
    }
    sendBytes(req, res, f, { ...common, etag: `"${f.gitOid}"` });
  };

  const cdn = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = safeDecode(u.pathname);
    record("cdn", req, res, path);
    if (injected503("cdn", path, res)) return;
    const m = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    const f = m ? bySha.get(m[1]!) : undefined;
    if (!f || u.searchParams.get("X-Amz-Signature") !== "fake") {
      res.writeHead(403, { "content-type": "application/xml" });
      return res.end("<Error><Code>AccessDenied</Code></Error>");
    }
    sendBytes(req, res, f, { etag: `"${f.sha256}"`, "accept-ranges": "bytes" });
  });

  const sendBytes = (req: IncomingMessage, res: ServerResponse, f: RepoFile, headers: Record<string, string>) => {
    const size = f.bytes.length;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range && !faults.ignoreRange) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (!m || (m[1] === "" && m[2] === "")) {
        res.writeHead(416, { "content-range": `bytes */${size}` });
        return res.end();
      }
      if (m[1] === "") {
        start = Math.max(0, size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== "") end = Math.min(Number(m[2]), size - 1);
      }
      if (start >= size || start > end) {
        res.writeHead(416, { "content-range": `bytes */${size}` });
        return res.end();
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
    }
    const body = f.bytes.subarray(start, end + 1);
    res.writeHead(status, {
      ...headers,
      "content-type": "application/octet-stream",
      "content-length": String(body.length),
    });
    if (req.method === "HEAD") return res.end();
    const cut = faults.cutAfterBytes;
    if (cut !== undefined && cut < body.length) {
      faults.cutAfterBytes = undefined;
      // Headers promised more: the client gets exactly `cut` bytes, then the connection ends.
      const end = () => res.socket?.end();
      res.write(body.subarray(0, cut), () => (faults.holdCut ? announceHeld?.(end) : end()));
      return;
    }
    res.end(body);
  };

  const listen = (s: Server) =>
    new Promise<string>((resolve) =>
      s.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
    );
  hubUrl = await listen(hub);
  cdnUrl = await listen(cdn);

  return {
    url: hubUrl,
    cdnUrl,
    commit: COMMIT,
    requests,
    faults,
    releaseCut: async () => {
      const cut = await heldCut!.ready;
      newHold();
      cut();
    },
    file: (repo, path) => repos.get(repo)?.files.get(path),
    close: async () => {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

async function loadRepos(root: string): Promise<Map<string, Repo>> {
  const repos = new Map<string, Repo>();
  const base = join(root, "datasets");
  for (const owner of await readdir(base, { withFileTypes: true })) {
    if (!owner.isDirectory()) continue;
    for (const name of await readdir(join(base, owner.name), { withFileTypes: true })) {
      if (!name.isDirectory()) continue;
      const dir = join(base, owner.name, name.name);
      const files = new Map<string, RepoFile>();
      for (const abs of await walk(dir)) {
        const path = relative(dir, abs).split(sep).join("/");
        const bytes = await readFile(abs);
        files.set(path, {
          path,
          bytes,
          sha256: sha256(bytes),
          gitOid: createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex"),
          // As on the hub, binary data files live in LFS/xet; small text files in git.
          lfs: /\.(parquet|png|jpe?g|bin|arrow)$/.test(path),
        });
      }
      repos.set(`${owner.name}/${name.name}`, { files });
    }
  }
  return repos;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

const sha1 = (s: string | Buffer) => createHash("sha1").update(s).digest("hex");
const sha256 = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
