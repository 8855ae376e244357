import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { finalLineParts, lineInfoAt } from "./async-lines.js";
import { ChunkWriter } from "./chunk-writer.js";
import type { OutputPaths } from "./partial-output.js";
import { DIGEST_LINE_BYTES, putDigestLine } from "./row-digest.js";

/**
 * Memory kept alive by lines held back waiting for an earlier position, at most: past this the
 * copy gives up (a slow row holding back a long run of later ones) and the run ends with the
 * full finalize.
 */
export const MAX_HELD_BYTES = 16 * 2 ** 20;

/**
 * The final output put in input order while a fresh run goes, so that the run's end is a
 * rename instead of a pass over the whole async file (finalizeOutput's scan and copy: ~0.1 s
 * for 20,000 rows, seconds for a million).
 *
 * It is fed every batch of lines right after the batch is written to the async file, and
 * writes each line's final form (finalLineParts, as finalize makes it) to `<out>.tmp-<pid>`
 * as soon as every earlier position has been written; lines that arrive early wait in memory,
 * as views of their batches (MAX_HELD_BYTES). The row digests go to `<out>.row-digests.tmp-<pid>` in the same order.
 * It only covers a run whose async file started empty, where each position is written once:
 * a position seen twice, a line not of ours, a failed write or too much held back makes it
 * give up quietly, and `finish` then says so (null) and the caller finalizes as before. The
 * async file stays the record of the run throughout: a kill leaves it to resume from, and the
 * temporary files are removed by the next run (removeStaleTemporaries).
 */
export class InOrderCopy {
  private next = 0;
  private readonly held = new Map<number, { parts: readonly Buffer[]; memory: ArrayBufferLike; digest: number }>();
  /** The memory held lines are views of, with how many each; its bytes are what heldBytes counts. */
  private readonly memory = new Map<ArrayBufferLike, number>();
  private heldBytes = 0;
  private rows = 0;
  private failed = 0;
  private anyDigest = false;
  private broken = false;
  private closed = false;
  /** The copy is in place as the output (discard then leaves it). */
  private placed = false;
  /** One row's digest line, filled in place for each (ChunkWriter.put copies it). */
  private readonly scratch = Buffer.alloc(DIGEST_LINE_BYTES);

  private constructor(
    private readonly paths: OutputPaths,
    private readonly maxHeldBytes: number,
    private readonly tmp: string,
    private readonly digestsTmp: string,
    private readonly lines: { fh: FileHandle; out: ChunkWriter },
    private readonly digests: { fh: FileHandle; out: ChunkWriter },
  ) {}

  /** Starts a copy beside an async file that holds no line yet. */
  static async open(paths: OutputPaths, maxHeldBytes = MAX_HELD_BYTES): Promise<InOrderCopy> {
    const tmp = `${paths.output}.tmp-${process.pid}`;
    const digestsTmp = `${paths.digests}.tmp-${process.pid}`;
    const lines = await open(tmp, "w");
    const digests = await open(digestsTmp, "w").catch(async (e: unknown) => {
      await lines.close();
      throw e;
    });
    return new InOrderCopy(
      paths,
      maxHeldBytes,
      tmp,
      digestsTmp,
      { fh: lines, out: new ChunkWriter(lines, 1 << 20) },
      { fh: digests, out: new ChunkWriter(digests, 64 << 10) },
    );
  }

  /** Whether the copy still stands (false once it gave up). */
  get intact(): boolean {
    return !this.broken;
  }

  /** Takes the whole lines of one write to the async file, in the order they were written. Never throws. */
  async take(batch: Buffer): Promise<void> {
    if (this.broken) return;
    try {
      // First the lines' places (synchronous), then the writes, awaited only when a buffer is full.
      const ready: Buffer[] = [];
      const digests: number[] = [];
      for (let start = 0; start < batch.length && !this.broken; ) {
        const nl = batch.indexOf(0x0a, start);
        const end = nl < 0 ? batch.length : nl;
        if (end > start) this.place(batch, start, end, ready, digests);
        start = end + 1;
      }
      if (this.broken) return;
      for (const b of ready) {
        const full = this.lines.out.put(b);
        if (full) await full;
      }
      for (const d of digests) {
        putDigestLine(this.scratch, 0, d);
        // (put copies the scratch, also when it first writes the buffer out.)
        const full = this.digests.out.put(this.scratch);
        if (full) await full;
      }
    } catch {
      this.giveUp();
    }
  }

  /** One line: its final form onto `ready` when every earlier position is in, else held. */
  private place(batch: Buffer, start: number, end: number, ready: Buffer[], digests: number[]): void {
    const info = lineInfoAt(batch, start, end);
    const p = info?.position;
    if (!info || p === undefined || p < this.next || this.held.has(p)) return this.giveUp();
    this.rows++;
    if (info.failed) this.failed++;
    if (info.digest >= 0) this.anyDigest = true;
    const parts = finalLineParts(batch.subarray(start, end), info);
    if (p !== this.next) {
      // Held as views of its batch (no copy a line): what is counted is the memory a held line
      // keeps alive, its batch's whole ArrayBuffer (a small batch's is node's shared 8 KB pool).
      const memory = batch.buffer;
      this.held.set(p, { parts, memory, digest: info.digest });
      const n = this.memory.get(memory) ?? 0;
      this.memory.set(memory, n + 1);
      if (n === 0) this.heldBytes += memory.byteLength;
      if (this.heldBytes > this.maxHeldBytes) this.giveUp();
      return;
    }
    for (const part of parts) ready.push(part);
    digests.push(info.digest);
    this.next++;
    for (let h = this.held.get(this.next); h !== undefined; h = this.held.get(this.next)) {
      this.held.delete(this.next);
      const n = this.memory.get(h.memory) as number;
      if (n === 1) {
        this.memory.delete(h.memory);
        this.heldBytes -= h.memory.byteLength;
      } else this.memory.set(h.memory, n - 1);
      for (const part of h.parts) ready.push(part);
      digests.push(h.digest);
      this.next++;
    }
  }

  private giveUp(): void {
    this.broken = true;
    this.held.clear();
    this.memory.clear();
    this.heldBytes = 0;
  }

  /**
   * After the last write to the async file: when every line it holds was copied in order,
   * puts the copy in place as `<out>` (and its digests as `<out>.row-digests`, written first,
   * as finalize does) and returns its counts; otherwise removes the copy and returns null.
   */
  async finish(): Promise<{ rows: number; failed: number } | null> {
    if (this.broken || this.held.size > 0 || this.rows === 0) {
      await this.discard();
      return null;
    }
    try {
      await this.lines.out.flush();
      await this.digests.out.flush();
      await this.lines.fh.sync();
    } catch {
      await this.discard();
      return null;
    }
    await this.closeFiles();
    if (this.anyDigest) await rename(this.digestsTmp, this.paths.digests);
    else await Promise.all([rm(this.digestsTmp, { force: true }), rm(this.paths.digests, { force: true })]);
    await rename(this.tmp, this.paths.output);
    this.placed = true;
    return { rows: this.rows, failed: this.failed };
  }

  /** Drops the copy (a run that did not finish, or one the copy could not cover). */
  async discard(): Promise<void> {
    if (this.placed) return;
    this.giveUp();
    await this.closeFiles();
    await Promise.all([rm(this.tmp, { force: true }), rm(this.digestsTmp, { force: true })]);
  }

  private async closeFiles(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.lines.fh.close(), this.digests.fh.close()]);
  }
}
