import type { FileHandle } from "node:fs/promises";
import { mkdtemp, open, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type ByteRange, useRangesInOrder } from "../../src/output/ranges-in-order.js";

/** A file of `n` lines of varied length; returns its bytes and each line's range. */
async function linesFile(n: number, size: (i: number) => number) {
  const dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-ranges-"));
  const file = path.join(dir, "lines");
  const ranges: (ByteRange & { i: number })[] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const line = Buffer.from(`${i}:${"abcdefghij".repeat(Math.ceil(size(i) / 10)).slice(0, size(i))}\n`);
    ranges.push({ offset, length: line.length, i });
    parts.push(line);
    offset += line.length;
  }
  const bytes = Buffer.concat(parts);
  await writeFile(file, bytes);
  return { file, bytes, ranges };
}

/** The real file handle, with its reads counted. */
function countingReads(fh: FileHandle) {
  const counter = { reads: 0 };
  const handle = new Proxy(fh, {
    get(target, key) {
      if (key === "read") {
        return (...args: Parameters<FileHandle["read"]>) => {
          counter.reads++;
          return (target.read as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { handle, counter };
}

/** Each block of `block` indexes shuffled (deterministically): lines finishing out of order. */
function blockShuffled(n: number, block: number): number[] {
  const order: number[] = [];
  let seed = 3;
  for (let base = 0; base < n; base += block) {
    const b = Array.from({ length: Math.min(block, n - base) }, (_, k) => base + k);
    for (let k = b.length - 1; k > 0; k--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = seed % (k + 1);
      [b[k], b[j]] = [b[j]!, b[k]!];
    }
    order.push(...b);
  }
  return order;
}

/** 0..n-1, each index swapped in turn with a random one up to `reach` places later. */
function scattered(n: number, reach: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let seed = 5;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = Math.min(n - 1, i + (seed % reach));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

describe("useRangesInOrder", () => {
  it("hands over each range's bytes in the order given, across batches, gaps and ranges larger than the buffer", async () => {
    // Lines 0..199, some far larger than the 256-byte buffer; asked for in a scattered order.
    const { file, bytes, ranges } = await linesFile(200, (i) => (i % 37 === 0 ? 700 : 5 + (i % 23)));
    const order = Array.from({ length: 200 }, (_, i) => (i * 71) % 200);
    const wanted = order.map((i) => ranges[i]!);
    const fh = await open(file, "r");
    const got: string[] = [];
    try {
      await useRangesInOrder(
        fh,
        wanted,
        (b, r) => {
          got.push(`${r.i}|${b.toString()}`);
          return undefined;
        },
        { bufferBytes: 256, gapBytes: 16 },
      );
    } finally {
      await fh.close();
    }
    expect(got).toEqual(wanted.map((r) => `${r.i}|${bytes.subarray(r.offset, r.offset + r.length).toString()}`));
  });

  it("hands over the right bytes when a batch's gaps would not all fit beside its lines", async () => {
    // Every 4th line first: each batch's lines are spread over four times their bytes, so
    // reading all the gaps (each under gapBytes) through would take more than the 512 bytes
    // the batch may read: past that, the reads stop at the gaps.
    const n = 400;
    const { file, bytes, ranges } = await linesFile(n, () => 8);
    const order = [0, 1, 2, 3].flatMap((m) => Array.from({ length: n / 4 }, (_, k) => 4 * k + m));
    const wanted = order.map((i) => ranges[i]!);
    const fh = await open(file, "r");
    const got: string[] = [];
    try {
      await useRangesInOrder(
        fh,
        wanted,
        (b) => {
          got.push(b.toString());
          return undefined;
        },
        { bufferBytes: 256, gapBytes: 200 },
      );
    } finally {
      await fh.close();
    }
    expect(got).toEqual(wanted.map((r) => bytes.subarray(r.offset, r.offset + r.length).toString()));
  });

  it("keeps the bytes valid until the promise of their use settles", async () => {
    const { file, bytes, ranges } = await linesFile(50, (i) => 20 + i);
    const wanted = [...ranges].reverse();
    const fh = await open(file, "r");
    const got: string[] = [];
    try {
      await useRangesInOrder(
        fh,
        wanted,
        async (b) => {
          await new Promise((r) => setImmediate(r));
          got.push(b.toString());
        },
        { bufferBytes: 128 },
      );
    } finally {
      await fh.close();
    }
    expect(got).toEqual(wanted.map((r) => bytes.subarray(r.offset, r.offset + r.length).toString()));
  });

  it.each([
    ["each block of 64 shuffled within itself", (n: number) => blockShuffled(n, 64)],
    // Some lines move hundreds of places (~50 KB here), as rows of very different latencies
    // do: the window that slid along the file before made 685 reads of this one (16 now).
    ["each line swapped with a random one up to 256 places later", (n: number) => scattered(n, 256)],
  ])("reads lines that finished out of order (%s) in a few reads per buffer, not one per line", async (_, order) => {
    // 5,000 lines of ~200 bytes (~1 MB) read through a 64 KB buffer. The file is in index
    // order and the lines are asked for in a completion order: the same geometry as an async
    // file in completion order whose lines are asked for in index order.
    const n = 5000;
    const { file, bytes, ranges } = await linesFile(n, (i) => 150 + (i % 100));
    const wanted = order(n).map((i) => ranges[i]!);
    const fh = await open(file, "r");
    const { handle, counter } = countingReads(fh);
    let same = 0;
    try {
      await useRangesInOrder(
        handle,
        wanted,
        (b, r) => {
          if (b.equals(bytes.subarray(r.offset, r.offset + r.length))) same++;
          return undefined;
        },
        { bufferBytes: 64 << 10 },
      );
    } finally {
      await fh.close();
    }
    expect(same).toBe(n);
    // ~16 buffers' worth of lines; a read per line would be 5,000.
    expect(counter.reads).toBeLessThanOrEqual(3 * Math.ceil(bytes.length / (64 << 10)));
  });

  it("says so when the file ends before a range", async () => {
    const { file, bytes } = await linesFile(3, () => 10);
    const fh = await open(file, "r");
    try {
      await expect(useRangesInOrder(fh, [{ offset: bytes.length - 4, length: 10 }], () => undefined)).rejects.toThrow(
        /the file ended at byte/,
      );
    } finally {
      await fh.close();
    }
  });
});
