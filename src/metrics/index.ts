export { MetricsAccumulator } from "./accumulator.js";
export { type ComputeOptions, computeMetrics, nameSubsets } from "./compute.js";
export { formatMetrics, formatTable, pyFixed2 } from "./format.js";
export { type BenchmarkOutputs, benchmarkOutputs, locateBenchmarks } from "./locate.js";
export { majorityScore } from "./majority.js";
export { passAtK } from "./pass-at-k.js";
export { type RowRecord, toRecord } from "./record.js";
export { type RunStatistics, RunStatisticsAccumulator } from "./run-statistics.js";
export { ALL_SUBSETS, type GroupMetrics, type Metrics, type ModeMetrics } from "./types.js";
