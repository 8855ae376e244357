import type { LineInfo } from "./async-lines.js";
import { DIGEST_LINE_BYTES, putDigestLine, RowDigests } from "./row-digest.js";

export type IndexEntry = { offset: number; length: number; info: LineInfo };

/**
 * Where the latest line of each position is in an async file. Positions are dense from 0, so
 * they index typed arrays (17 bytes a row) instead of a Map of objects (an order of magnitude
 * more): a million-row run's index is no large heap. Odd positions (lines from other writers)
 * go to a Map beside them.
 */
export class LineIndex {
  private offsets = new Float64Array(0);
  private lengths = new Int32Array(0);
  private bodyEnds = new Int32Array(0);
  /** 0: no line; 1: a line; 2: a failed line. */
  private flags = new Uint8Array(0);
  private readonly digests = new RowDigests();
  private readonly odd = new Map<number, IndexEntry>();
  private static readonly DENSE_LIMIT = 2 ** 28;

  set(position: number, offset: number, length: number, info: LineInfo): void {
    if (!Number.isInteger(position) || position < 0 || position >= LineIndex.DENSE_LIMIT) {
      this.odd.set(position, { offset, length, info });
      return;
    }
    if (position >= this.flags.length) this.grow(position + 1);
    this.offsets[position] = offset;
    this.lengths[position] = length;
    this.bodyEnds[position] = info.bodyEnd;
    this.flags[position] = info.failed ? 2 : 1;
    this.digests.set(position, info.digest);
  }

  get(position: number): IndexEntry | undefined {
    const f = this.flags[position];
    if (!f || !Number.isInteger(position)) return this.odd.get(position);
    return {
      offset: this.offsets[position]!,
      length: this.lengths[position]!,
      info: { position, failed: f === 2, bodyEnd: this.bodyEnds[position]!, digest: this.digests.get(position) },
    };
  }

  /**
   * The first position with no line below the last one that has a line, or undefined when
   * positions 0..n-1 all have theirs. An output is line i = row i, so one with a hole cannot
   * be put in order.
   */
  firstGap(): number | undefined {
    let last = this.flags.length - 1;
    while (last >= 0 && this.flags[last] === 0) last--;
    for (let p = 0; p < last; p++) if (this.flags[p] === 0) return p;
    return undefined;
  }

  /** The line of every position, positions ascending. */
  *entries(): Generator<IndexEntry> {
    for (const p of this.positions()) yield this.get(p)!;
  }

  /** Every position with a line, ascending. */
  *positions(): Generator<number> {
    const odd = [...this.odd.keys()].sort((a, b) => a - b);
    let k = 0;
    for (let p = 0; p < this.flags.length; p++) {
      if (this.flags[p] === 0) continue;
      while (k < odd.length && odd[k]! < p) yield odd[k++]!;
      yield p;
    }
    while (k < odd.length) yield odd[k++]!;
  }

  /**
   * `<out>.row-digests`' bytes: each line's digest in position order as 8 hex digits and "\n"
   * ("--------" for a line without one); null when no line has one. Written straight into one
   * buffer (no string or object a row): this runs at the very end of a run.
   */
  digestLines(): Buffer | null {
    let rows = this.odd.size;
    let any = false;
    for (const e of this.odd.values()) if (e.info.digest >= 0) any = true;
    for (let p = 0; p < this.flags.length; p++) {
      if (this.flags[p] === 0) continue;
      rows++;
      if (!any && this.digests.get(p) >= 0) any = true;
    }
    if (!any) return null;
    const buf = Buffer.allocUnsafe(rows * DIGEST_LINE_BYTES);
    let at = 0;
    const put = (d: number) => {
      putDigestLine(buf, at, d);
      at += DIGEST_LINE_BYTES;
    };
    if (this.odd.size === 0) {
      for (let p = 0; p < this.flags.length; p++) if (this.flags[p] !== 0) put(this.digests.get(p));
    } else {
      for (const p of this.positions()) put(this.get(p)!.info.digest);
    }
    return buf;
  }

  private grow(min: number): void {
    const n = Math.max(min, 2 * this.flags.length, 1024);
    this.offsets = grown(this.offsets, new Float64Array(n));
    this.lengths = grown(this.lengths, new Int32Array(n));
    this.bodyEnds = grown(this.bodyEnds, new Int32Array(n));
    this.flags = grown(this.flags, new Uint8Array(n));
  }
}

/** `to` holding `from`'s values first. */
function grown<T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
