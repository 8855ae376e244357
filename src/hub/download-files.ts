/**
 * Several files of one repo into a local cache folder, one after another (shards are
 * hundreds of MB: one stream at a time already fills a link, and keeps memory flat).
 * Layout: `<cacheDir>/<type>s/<repo>/<revision>/<path in repo>`, so configs and revisions
 * never overwrite each other's shards.
 */
import { join } from "node:path";
import type { Dispatcher } from "undici";
import { UsageError } from "../errors.js";
import type { HubConfig } from "./config.js";
import { type DownloadResult, downloadHubFile } from "./download-file.js";
import type { HubFile, RepoType } from "./list-files.js";
import { createProgress, stderrLog } from "./progress.js";
import type { RetryOptions } from "./retry.js";

export type DownloadHubFilesOptions = {
  repo: string;
  repoType?: RepoType;
  revision?: string;
  files: HubFile[];
  cacheDir: string;
  hub: HubConfig;
  retry?: RetryOptions;
  log?: (line: string) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
};

export type LocalHubFile = DownloadResult & { file: HubFile };

export function localPathFor(
  cacheDir: string,
  repo: string,
  repoType: RepoType,
  revision: string,
  path: string,
): string {
  const parts = [...repo.split("/"), ...revision.split("/"), ...path.split("/")];
  // Repo paths come from the hub's listing: refuse any that would step out of the cache.
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new UsageError(`unsafe repo path: ${JSON.stringify(`${repo}@${revision}:${path}`)}`);
  }
  return join(cacheDir, `${repoType}s`, ...parts);
}

export async function downloadHubFiles(opts: DownloadHubFilesOptions): Promise<LocalHubFile[]> {
  const repoType = opts.repoType ?? "dataset";
  const revision = opts.revision ?? "main";
  const progress = createProgress({ log: opts.log ?? stderrLog, intervalMs: opts.progressIntervalMs });
  const out: LocalHubFile[] = [];
  for (const [i, file] of opts.files.entries()) {
    const result = await downloadHubFile({
      repo: opts.repo,
      repoType,
      revision,
      file,
      dest: localPathFor(opts.cacheDir, opts.repo, repoType, revision, file.path),
      hub: opts.hub,
      retry: opts.retry,
      progress,
      label: `(${i + 1}/${opts.files.length}) ${opts.repo}/${file.path}`,
      signal: opts.signal,
      dispatcher: opts.dispatcher,
    });
    out.push({ ...result, file });
  }
  return out;
}
