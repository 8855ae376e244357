export { MetricsAccumulator } from "./accumulator.js";
export { addBenchmarkGroups } from "./benchmark-groups.js";
export { type ComputeOptions, computeMetrics, computeSubsetMetrics, nameSubsets } from "./compute.js";
export { formatMetrics, formatTable, pyFixed2 } from "./format.js";
export { parseJsonLine } from "./json-line.js";
export { type BenchmarkOutputs, benchmarkOutputs, locateBenchmarks } from "./locate.js";
export { majorityScore } from "./majority.js";
export { npMean, npStdDdof1, pairwiseSum } from "./numpy-stats.js";
export { passAtK } from "./pass-at-k.js";
export { pyJsonDump } from "./py-json.js";
export { type RowRecord, toRecord } from "./record.js";
export { type RunStatistics, RunStatisticsAccumulator } from "./run-statistics.js";
export {
  ALL_SUBSETS,
  type GroupMetrics,
  INT_METRICS,
  type Metrics,
  type ModeMetrics,
  type OrderedMetrics,
} from "./types.js";
