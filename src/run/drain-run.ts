import type { Observable } from "rxjs";
import type { DiskImageCache } from "../images/disk-cache.js";
import type { ImageCache } from "../images/image-cache.js";
import type { Sample } from "../types.js";
import type { RunStats } from "./run-stats.js";

/**
 * Subscribes and waits for the end; a hard abort unsubscribes (aborting requests in flight).
 * Resolves whether it was interrupted.
 */
export function drain(obs: Observable<Sample>, stats: RunStats, abort: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const finish = (interrupted: boolean) => {
      abort?.removeEventListener("abort", onAbort);
      resolve(interrupted);
    };
    const sub = obs.subscribe({
      next: (s) => stats.record(s),
      error: (e) => reject(e),
      complete: () => finish(false),
    });
    const onAbort = () => {
      sub.unsubscribe();
      finish(true);
    };
    if (abort?.aborted) onAbort();
    else abort?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The lines a run ends with on stderr: where its images came from, the summary, how to resume. */
export function logRunEnd(
  log: (line: string) => void,
  o: {
    stats: RunStats;
    images: { memory: ImageCache; disk: DiskImageCache | undefined };
    complete: boolean;
    /** The output file and its partial file; undefined for stdout. */
    files?: { output: string; async: string };
    /** Per error code: its count and first failure (failure-summary.ts). */
    failures?: readonly string[];
  },
): void {
  const images = imageSummary(o.images.memory, o.images.disk);
  if (images) log(`vlmpipe: ${images}`);
  const s = o.stats;
  if (o.complete && s.done + s.failed + s.previouslyDone === 0) log("vlmpipe: warning: the input has no rows");
  log(`vlmpipe: ${s.summary()}${o.complete && o.files ? ` -> ${o.files.output}` : ""}`);
  for (const l of o.failures ?? []) log(`vlmpipe: ${l}`);
  if (!o.complete && o.files) log(`vlmpipe: stopped early; run the same command again to resume from ${o.files.async}`);
}

/** Where this run's images came from: "images: 120 resolved: 90 from memory, 30 from the disk
 *  cache, 0 checked" (checked: read, checked and, if need be, converted in this process).
 *  Undefined for a run without images. */
function imageSummary(memory: ImageCache, disk: DiskImageCache | undefined): string | undefined {
  const m = memory.stats();
  const total = m.hits + m.misses;
  if (total === 0) return undefined;
  if (!disk) return `images: ${total} resolved: ${m.hits} from memory, ${m.misses} checked`;
  const d = disk.stats();
  const failedWrites = d.writeErrors ? `; ${d.writeErrors} could not be stored (${d.firstWriteError})` : "";
  return (
    `images: ${total} resolved: ${m.hits} from memory, ${d.hits} from the disk cache, ` +
    `${d.misses} checked (cache ${disk.dir}${failedWrites})`
  );
}
