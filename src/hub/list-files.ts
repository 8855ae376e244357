/**
 * The files of a hub repo folder, from the hub's tree API through @huggingface/hub's
 * `listFiles` (`GET /api/{type}s/{repo}/tree/{revision}/{path}`, paged with `Link: rel="next"`).
 * Each entry carries what a download needs to check itself: size, and the sha256 of LFS
 * files (`lfs.oid`) or the git blob id of small ones (`oid`).
 */
import { HubApiError, listFiles } from "@huggingface/hub";
import { ErrorCodes, VlmError } from "../errors.js";
import type { HubConfig } from "./config.js";
import { retryingFetch } from "./http.js";
import { abortError, type RetryOptions } from "./retry.js";

export type RepoType = "dataset" | "model";

export type HubFile = {
  /** Path inside the repo, as the hub spells it (spaces and all). */
  path: string;
  size: number;
  /** sha256 of the content: the LFS oid. Set for LFS and xet-backed files. */
  sha256?: string;
  /** git blob sha1 (of "blob <size>\0" + content): what identifies a non-LFS file. */
  gitOid?: string;
};

export type ListHubFilesOptions = {
  repo: string;
  repoType?: RepoType;
  /** Folder inside the repo; the repo root when empty. */
  path?: string;
  revision?: string;
  recursive?: boolean;
  hub: HubConfig;
  retry?: RetryOptions;
  log?: (line: string) => void;
  signal?: AbortSignal;
};

export async function listHubFiles(opts: ListHubFilesOptions): Promise<HubFile[]> {
  const revision = opts.revision ?? "main";
  const files: HubFile[] = [];
  try {
    for await (const entry of listFiles({
      repo: { type: opts.repoType ?? "dataset", name: opts.repo },
      // listFiles pastes revision and path into the URL as they are: encode them here so
      // "standard (10 options)" or "refs/convert/parquet" reach the hub intact.
      revision: encodeURIComponent(revision),
      path: opts.path ? encodePath(opts.path) : undefined,
      recursive: opts.recursive ?? false,
      hubUrl: opts.hub.hubUrl,
      ...(opts.hub.accessToken ? { accessToken: opts.hub.accessToken } : {}),
      fetch: retryingFetch({ retry: opts.retry, log: opts.log, signal: opts.signal }),
    })) {
      if (entry.type !== "file") continue;
      const file: HubFile = { path: entry.path, size: entry.size };
      if (entry.lfs) {
        file.sha256 = entry.lfs.oid;
        file.size = entry.lfs.size;
      } else if (entry.oid) {
        file.gitOid = entry.oid;
      }
      files.push(file);
    }
  } catch (e) {
    if (opts.signal?.aborted) throw abortError();
    throw listingError(e, `${opts.repo}/${opts.path ?? ""}@${revision}`);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function listingError(e: unknown, where: string): unknown {
  if (e instanceof VlmError) return e;
  if (e instanceof HubApiError) {
    const hint =
      e.statusCode === 401 || e.statusCode === 403
        ? " (a private or gated repo needs HF_TOKEN; check the token's access)"
        : e.statusCode === 404
          ? " (check --repo, --revision and the folder name)"
          : "";
    return new VlmError(ErrorCodes.HTTP, `listing ${where} failed: HTTP ${e.statusCode}${hint}`, {
      status: e.statusCode,
      cause: e,
    });
  }
  return new VlmError(ErrorCodes.CONNECTION, `listing ${where} failed: ${(e as Error)?.message ?? e}`, { cause: e });
}
