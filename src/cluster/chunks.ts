export type RowRange = { start: number; end: number };

/**
 * NeMo-Skills' chunking: K contiguous chunks of n rows, the first n % K of them one row
 * longer. Chunk i is rows [start, end). Only the chunks that hold a row are returned: with
 * more chunks than rows those are chunks 0..n-1 of one row each (the rest would be empty), so
 * `--num_chunks 1e9` costs n entries, not a billion.
 */
export function chunkRanges(rows: number, numChunks: number): RowRange[] {
  const size = Math.floor(rows / numChunks);
  const extra = rows % numChunks;
  return Array.from({ length: Math.min(numChunks, rows) }, (_, i) => {
    const start = i * size + Math.min(i, extra);
    return { start, end: start + size + (i < extra ? 1 : 0) };
  });
}

/** `output-rs0.jsonl` -> `output-rs0_chunk_2.jsonl` (NeMo-Skills' get_chunked_filename). */
export function chunkFileName(outputName: string, chunk: number): string {
  return outputName.replace(/\.jsonl$/, `_chunk_${chunk}.jsonl`);
}
