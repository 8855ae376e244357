import { open } from "node:fs/promises";

export type LineVisitor = (line: Buffer, offset: number) => void;

/**
 * Calls `visit` for each complete line (without its "\n") with its byte offset, reading in
 * large chunks; returns the offset just past the last complete line and whether bytes after
 * it (a torn last line) were left over.
 */
export async function scanLines(file: string, visit: LineVisitor): Promise<{ validBytes: number; tail: Buffer }> {
  const fh = await open(file, "r");
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let carry: Buffer = Buffer.alloc(0);
    let base = 0; // file offset of carry[0]
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        visit(buf.subarray(start, nl), base + start);
        start = nl + 1;
      }
      // Copy the remainder: `chunk` is reused by the next read.
      carry = Buffer.from(buf.subarray(start));
      base += start;
    }
    return { validBytes: base, tail: carry };
  } finally {
    await fh.close();
  }
}
