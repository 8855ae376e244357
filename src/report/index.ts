export { type ReportOptions, ReportOptionsSchema, writeReport } from "./write-report.js";
export { gatherReport, type GatherOptions, type Gathered } from "./gather.js";
export { renderPage } from "./page.js";
export { type HistogramBin, type Interval, TokenHistogram, wilsonInterval } from "./stats.js";
export type { ImageMode, PromptPart, ReportData, ReportImage, ReportLine, ReportRow, SubjectStats } from "./types.js";
