import type sharp from "sharp";

export type Sharp = typeof sharp;

let loading: Promise<Sharp> | undefined;

/**
 * sharp, loaded on first use. Its native binding takes tens of ms to load, which every run paid
 * at start-up, including text-only runs and resumes that skip a million done rows first.
 * libvips' operation cache is turned off: vlmpipe checks an image once and keeps its own
 * verdicts (image-cache.ts, disk-cache.ts), so that cache (up to 50 MB) only held memory:
 * 3-4 MB of peak RSS in a run of 20,000 rows over 20 images.
 */
export function loadSharp(): Promise<Sharp> {
  loading ??= import("sharp").then((m) => {
    m.default.cache(false);
    return m.default;
  });
  return loading;
}

/** Whether loadSharp has been called in this process (the header readers exist to avoid it). */
export function sharpLoaded(): boolean {
  return loading !== undefined;
}
