/** What resolveImage needs of a file's stat. */
export type FileStat = {
  size: number;
  mtimeMs: number;
  /** Inode and change time (node's stat has them): a file replaced with its old size and mtime
   *  (`touch -r`, a copy keeping times) still gets another inode or ctime, which no tool sets. */
  ino?: number;
  ctimeMs?: number;
  isFile(): boolean;
  isDirectory(): boolean;
};

/** How long a file's stat stands for it: a file changed during a run is seen within this. */
export const STAT_WINDOW_MS = 1000;

/** Files remembered at most; past it the oldest are forgotten (and simply stat'ed again). */
const MAX_FILES = 8192;

/**
 * One stat per file per window instead of one per row: a run of 20,000 rows over 20 images
 * spent a sixth of its main thread in stats of files it had just looked at. The stat decides
 * the cache key (path + size + mtime), so a file rewritten during a run is read and checked
 * anew at most `windowMs` later, and the next run stats it afresh. Concurrent asks share one
 * stat; a failed stat is not remembered.
 */
export class StatWindow {
  private readonly files = new Map<string, { at: number; stat: Promise<FileStat> }>();

  constructor(private readonly windowMs = STAT_WINDOW_MS) {}

  /** The file's stat, and when it was taken (performance.now()). */
  get(file: string, stat: (file: string) => Promise<FileStat>): { at: number; stat: Promise<FileStat> } {
    const now = performance.now();
    const hit = this.files.get(file);
    if (hit && now - hit.at < this.windowMs) return hit;
    if (hit)
      this.files.delete(file); // re-inserted below, as the newest
    else if (this.files.size >= MAX_FILES) this.files.delete(this.files.keys().next().value as string);
    const p = stat(file);
    const entry = { at: now, stat: p };
    this.files.set(file, entry);
    p.catch(() => {
      if (this.files.get(file) === entry) this.files.delete(file);
    });
    return entry;
  }
}
