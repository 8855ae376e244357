import type sharp from "sharp";

export type Sharp = typeof sharp;

let loading: Promise<Sharp> | undefined;

/**
 * sharp, loaded on first use. Its native binding takes tens of ms to load, which every run paid
 * at start-up, including text-only runs and resumes that skip a million done rows first.
 */
export function loadSharp(): Promise<Sharp> {
  loading ??= import("sharp").then((m) => m.default);
  return loading;
}
