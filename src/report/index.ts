export { type Gathered, type GatherOptions, gatherReport } from "./gather.js";
export { renderPage } from "./page.js";
export { type HistogramBin, type Interval, TokenHistogram, wilsonInterval } from "./stats.js";
export type { ImageMode, PromptPart, ReportData, ReportImage, ReportLine, ReportRow, SubjectStats } from "./types.js";
export { type ReportOptions, ReportOptionsSchema, writeReport } from "./write-report.js";
