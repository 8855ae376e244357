import { writeFile } from "node:fs/promises";
import path from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { chunkFileName, chunkRanges } from "../../src/cluster/chunks.js";
import { readRows } from "../../src/operators/read-rows.js";
import { countRows } from "../../src/progress/count-rows.js";
import { tempDir } from "../helpers/dataset.js";

describe("chunks", () => {
  it("splits n rows into K contiguous chunks, the first n % K one row longer (NeMo-Skills' rule)", () => {
    expect(chunkRanges(10, 3)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 7 },
      { start: 7, end: 10 },
    ]);
    expect(chunkRanges(60, 3).map((r) => r.end - r.start)).toEqual([20, 20, 20]);
    expect(chunkRanges(11, 4).map((r) => r.end - r.start)).toEqual([3, 3, 3, 2]);
    expect(chunkRanges(7, 1)).toEqual([{ start: 0, end: 7 }]);
  });

  it("returns only the chunks that hold a row: with more chunks than rows, chunks 0..n-1 of one row", () => {
    expect(chunkRanges(2, 3)).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 2 },
    ]);
    expect(chunkRanges(0, 4)).toEqual([]);
    // As many entries as rows, however many chunks are asked for (--num_chunks 1e9 ran out of memory).
    expect(chunkRanges(3, 2 ** 32)).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 2 },
      { start: 2, end: 3 },
    ]);
    expect(chunkRanges(1730, 1e9)).toHaveLength(1730);
  });

  it("covers every row exactly once, in order", () => {
    for (const n of [0, 1, 5, 59, 60, 1730]) {
      for (const k of [1, 2, 3, 7, 64]) {
        const r = chunkRanges(n, k);
        expect(r).toHaveLength(Math.min(n, k));
        if (n === 0) continue;
        expect(r[0]!.start).toBe(0);
        expect(r[r.length - 1]!.end).toBe(n);
        r.slice(1).forEach((c, i) => expect(c.start).toBe(r[i]!.end));
        expect(r.every((c) => c.end > c.start)).toBe(true);
      }
    }
  });

  it("names chunk files as NeMo-Skills does", () => {
    expect(chunkFileName("output.jsonl", 0)).toBe("output_chunk_0.jsonl");
    expect(chunkFileName("output-rs3.jsonl", 12)).toBe("output-rs3_chunk_12.jsonl");
  });

  it("counts rows as readRows does: blank lines, a BOM and a missing last newline", async () => {
    const f = path.join(await tempDir(), "d.jsonl");
    await writeFile(f, '\ufeff{"a":1}\n\n  \r\n{"a":2}\r\n{"a":3}');
    expect(await countRows(f)).toBe(3);
    expect(await countRows(f, 2)).toBe(2);
    await writeFile(f, "\ufeff\n");
    expect(await countRows(f)).toBe(0);
  });

  it("reads a chunk's rows indexed from 0 within it, with the input's line numbers in errors", async () => {
    const f = path.join(await tempDir(), "d.jsonl");
    await writeFile(f, '{"i":0}\n{"i":1}\n\n{"i":2}\nnot json\n{"i":4}\n{"i":5}\n');
    const rows = await lastValueFrom(readRows(f, { rowRange: { start: 2, end: 5 } }).pipe(toArray()));
    expect(rows.map((r) => [r.index, r.row.i ?? null])).toEqual([
      [0, 2],
      [1, null],
      [2, 4],
    ]);
    expect(rows[1]!.error?.message).toMatch(/^line 5: /);
    // Resume skips by the chunk's own positions; max_samples counts rows of the whole input.
    const rest = await lastValueFrom(
      readRows(f, { rowRange: { start: 2, end: 5 }, skip: (i) => i === 0, maxSamples: 4 }).pipe(toArray()),
    );
    expect(rest.map((r) => r.index)).toEqual([1]);
  });
});
