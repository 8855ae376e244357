export { DEFAULT_HUB_URL, hubConfigFromEnv, normalizeHubUrl, type HubConfig } from "./config.js";
export { listHubFiles, type HubFile, type ListHubFilesOptions, type RepoType } from "./list-files.js";
export {
  downloadHubFile,
  resolveUrl,
  type DownloadHubFileOptions,
  type DownloadResult,
} from "./download-file.js";
export { downloadHubFiles, localPathFor, type DownloadHubFilesOptions, type LocalHubFile } from "./download-files.js";
export { createProgress, fmtBytes, stderrLog, type Progress, type FileProgress } from "./progress.js";
export { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
