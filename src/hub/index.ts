export { DEFAULT_HUB_URL, type HubConfig, hubConfigFromEnv, normalizeHubUrl } from "./config.js";
export {
  type DownloadHubFileOptions,
  type DownloadResult,
  downloadHubFile,
  resolveUrl,
} from "./download-file.js";
export { type DownloadHubFilesOptions, downloadHubFiles, type LocalHubFile, localPathFor } from "./download-files.js";
export { type HubFile, type ListHubFilesOptions, listHubFiles, type RepoType } from "./list-files.js";
export { createProgress, type FileProgress, fmtBytes, type Progress, stderrLog } from "./progress.js";
export { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
