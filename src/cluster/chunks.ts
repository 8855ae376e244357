import { createReadStream } from "node:fs";

export type RowRange = { start: number; end: number };

/**
 * NeMo-Skills' chunking: K contiguous chunks of n rows, the first n % K of them one row
 * longer. Chunk i is rows [start, end).
 */
export function chunkRanges(rows: number, numChunks: number): RowRange[] {
  const size = Math.floor(rows / numChunks);
  const extra = rows % numChunks;
  return Array.from({ length: numChunks }, (_, i) => {
    const start = i * size + Math.min(i, extra);
    return { start, end: start + size + (i < extra ? 1 : 0) };
  });
}

/** `output-rs0.jsonl` -> `output-rs0_chunk_2.jsonl` (NeMo-Skills' get_chunked_filename). */
export function chunkFileName(outputName: string, chunk: number): string {
  return outputName.replace(/\.jsonl$/, `_chunk_${chunk}.jsonl`);
}

/**
 * Rows of a JSONL file as readRows counts them (non-blank lines), at most `max`. Reads bytes
 * only: counting 1,730 rows of base64-free JSONL is quick, and the data is never parsed here.
 */
export async function countRows(file: string, max = Infinity): Promise<number> {
  let rows = 0;
  let blank = true;
  let first = true;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    // A UTF-8 byte order mark is not content (readRows drops it too).
    const from = first && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
    first = false;
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (b === 0x0a) {
        if (!blank) rows++;
        blank = true;
        if (rows >= max) return rows;
      } else if (blank && b !== 0x20 && b !== 0x09 && b !== 0x0d) {
        blank = false;
      }
    }
  }
  if (!blank) rows++;
  return Math.min(rows, max);
}
