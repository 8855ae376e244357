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
