/**
 * The benchmarks, registered in one place: each folder exports its `Benchmark`s (what eval runs)
 * and its `Preparer` (what prepare_data runs). Adding one is a folder and two lines here.
 */
import { chartqa, chartqaPreparer } from "./chartqa/index.js";
import { docvqa, docvqaPreparer } from "./docvqa/index.js";
import { mmmu, mmmuPreparer } from "./mmmu/index.js";
import { mmmuPro, mmmuProPreparer, mmmuProStandard4, mmmuProStandard10 } from "./mmmu-pro/index.js";
import type { Benchmark, Preparer } from "./types.js";

export type { Benchmark, Preparer } from "./types.js";

export const BENCHMARKS: Readonly<Record<string, Benchmark>> = Object.fromEntries(
  [mmmu, mmmuPro, mmmuProStandard10, mmmuProStandard4, chartqa, docvqa].map((b) => [b.name, b]),
);

export const PREPARERS: Readonly<Record<string, Preparer>> = Object.fromEntries(
  [mmmuPreparer, mmmuProPreparer, chartqaPreparer, docvqaPreparer].map((p) => [p.name, p]),
);

export function getBenchmark(name: string): Benchmark | undefined {
  return Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
}

export function getPreparer(name: string): Preparer | undefined {
  return Object.hasOwn(PREPARERS, name) ? PREPARERS[name] : undefined;
}
