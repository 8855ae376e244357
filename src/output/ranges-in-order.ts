import type { FileHandle } from "node:fs/promises";
import { ErrorCodes, VlmError } from "../errors.js";

export type ByteRange = { offset: number; length: number };

/**
 * Hands each byte range of `file` to `use`, in the order given, reading them in file order a
 * batch at a time: the next ranges, up to `bufferBytes` of them, are sorted by offset and read
 * with neighbours in one read (gaps of up to `gapBytes` read through), then handed out in the
 * given order. Putting an async file's lines back in input order is this: lines finish in
 * roughly input order, so a batch's lines lie close together, a few reads a batch. (A window
 * sliding along the file re-read about every other line once neighbours had finished out of
 * order: 34,000 reads for 60,000 rows.) A range larger than half the buffer is read alone.
 *
 * The bytes given to `use` are valid until the promise it returns settles (or, when it returns
 * none, until it returns). Memory: one buffer of twice `bufferBytes`, whatever the file's size.
 */
export async function useRangesInOrder<R extends ByteRange>(
  file: FileHandle,
  ranges: Iterable<R>,
  use: (bytes: Buffer, range: R) => Promise<void> | undefined,
  { bufferBytes = 1 << 20, gapBytes = 64 << 10 } = {},
): Promise<void> {
  // A batch's reads, one after another: its ranges (at most bufferBytes) and the gaps read
  // through, which take only the room left.
  const arena = Buffer.allocUnsafe(2 * bufferBytes);
  let batch: R[] = [];
  let bytes = 0;

  const flush = async (): Promise<void> => {
    const n = batch.length;
    const byOffset = orderByOffset(batch);
    // Where each range's bytes are in the arena.
    const at = new Array<number>(n);
    let gapRoom = arena.length - bytes;
    let base = 0;
    for (let k = 0; k < n; ) {
      // One read: this range and the next ones (by offset) whose gaps are small and fit.
      const start = batch[byOffset[k]!]!.offset;
      let end = start;
      let j = k;
      for (; j < n; j++) {
        const r = batch[byOffset[j]!]!;
        const gap = r.offset - end;
        if (j > k && (gap > gapBytes || gap > gapRoom)) break;
        if (j > k) gapRoom -= gap;
        at[byOffset[j]!] = base + r.offset - start;
        end = Math.max(end, r.offset + r.length);
      }
      await readFully(file, arena, base, end - start, start);
      base += end - start;
      k = j;
    }
    for (let i = 0; i < n; i++) {
      const pending = use(arena.subarray(at[i]!, at[i]! + batch[i]!.length), batch[i]!);
      if (pending) await pending;
    }
    batch = [];
    bytes = 0;
  };

  for (const r of ranges) {
    if (r.length > bufferBytes / 2) {
      await flush();
      const own = Buffer.allocUnsafe(r.length);
      await readFully(file, own, 0, r.length, r.offset);
      const pending = use(own, r);
      if (pending) await pending;
      continue;
    }
    // (A count cap too: ranges of a few bytes must not make a batch of millions.)
    if (bytes + r.length > bufferBytes || batch.length >= 1 << 16) await flush();
    batch.push(r);
    bytes += r.length;
  }
  await flush();
}

/**
 * The indexes of `ranges` by ascending offset. With a comparator sort of each batch's ~1,000
 * ranges, the function doing it held ~10% of a profile of finalizing a million rows; packed
 * as (offset - min) * 2^20 + index into doubles, they sort natively (exact while the batch
 * spans less than 2^33 bytes).
 */
function orderByOffset(ranges: readonly ByteRange[]): number[] {
  const n = ranges.length;
  let min = Infinity;
  let max = -Infinity;
  for (const r of ranges) {
    if (r.offset < min) min = r.offset;
    if (r.offset > max) max = r.offset;
  }
  if (n >= 2 ** 20 || max - min >= 2 ** 33)
    return ranges.map((_, i) => i).sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (ranges[i]!.offset - min) * 2 ** 20 + i;
  keys.sort();
  const order = new Array<number>(n);
  for (let k = 0; k < n; k++) order[k] = keys[k]! % 2 ** 20;
  return order;
}

/** `length` bytes at `position` into buf[at..]; the file must hold them (it is not being written). */
async function readFully(file: FileHandle, buf: Buffer, at: number, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesRead } = await file.read(buf, at + done, length - done, position + done);
    if (bytesRead === 0)
      throw new VlmError(
        ErrorCodes.OUTPUT,
        `the file ended at byte ${position + done}, before byte ${position + length}`,
      );
    done += bytesRead;
  }
}
