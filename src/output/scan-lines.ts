import { open } from "node:fs/promises";

export type LineVisitor = (line: Buffer, offset: number) => void;
/** A line as `buf[start, end)`, at `offset` in the file; `buf` is only valid during the call. */
export type LineRangeVisitor = (buf: Buffer, start: number, end: number, offset: number) => void;

/**
 * Calls `visit` for each complete line (without its "\n") with its byte offset, reading in
 * large chunks; returns the offset just past the last complete line and whether bytes after
 * it (a torn last line) were left over. A line is only valid during its `visit` call (the
 * read buffer is reused): copy it to keep it.
 */
export function scanLines(file: string, visit: LineVisitor): Promise<{ validBytes: number; tail: Buffer }> {
  return scanLineRanges(file, (buf, start, end, offset) => visit(buf.subarray(start, end), offset));
}

/**
 * scanLines without a Buffer object per line: the visitor gets the read buffer and the line's
 * bounds. Resume reads a million-line partial file this way (see readPartial). Reads go into
 * two buffers of `chunkBytes` each (large reads for resume's speed; finalize, which runs on
 * top of a whole run's memory, passes smaller ones).
 */
export async function scanLineRanges(
  file: string,
  visit: LineRangeVisitor,
  chunkBytes = 4 << 20,
): Promise<{ validBytes: number; tail: Buffer }> {
  const fh = await open(file, "r");
  // Two buffers in turn: the next read runs (in the thread pool) while this one is scanned.
  const buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  const readInto = (b: Buffer) => fh.read(b, 0, b.length, null);
  let turn = 0;
  let reading = readInto(buffers[0]);
  try {
    let carry: Buffer = Buffer.alloc(0);
    let base = 0; // file offset of the next line (of carry[0] when there is a carry)
    for (;;) {
      const { bytesRead, buffer: chunk } = await reading;
      if (bytesRead === 0) break;
      turn ^= 1;
      reading = readInto(turn ? buffers[1] : buffers[0]);
      const buf = chunk.subarray(0, bytesRead);
      let start = 0;
      let nl = buf.indexOf(10);
      if (carry.length > 0) {
        // Only the line that spans two reads is joined: copying every chunk behind the
        // carry cost a full copy of the file (a 700 MB partial file on resume).
        if (nl === -1) {
          carry = Buffer.concat([carry, buf]);
          continue;
        }
        const line = Buffer.concat([carry, buf.subarray(0, nl)]);
        visit(line, 0, line.length, base);
        base += line.length + 1;
        carry = Buffer.alloc(0);
        start = nl + 1;
        nl = buf.indexOf(10, start);
      }
      for (; nl !== -1; nl = buf.indexOf(10, start)) {
        visit(buf, start, nl, base);
        base += nl + 1 - start;
        start = nl + 1;
      }
      // Copy the remainder: `chunk` is reused by the read after next.
      carry = Buffer.from(buf.subarray(start));
    }
    return { validBytes: base, tail: carry };
  } catch (e) {
    // A visitor that threw leaves a read in flight: let it end before the file is closed.
    await reading.catch(() => undefined);
    throw e;
  } finally {
    await fh.close();
  }
}

/** Whether `b[start, end)` holds only spaces, tabs and carriage returns (JSONL skips such lines). */
export function isBlankLine(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** Whether `b[start, end)` starts with a UTF-8 byte order mark. */
export function startsWithBom(b: Buffer, start: number, end: number): boolean {
  return end - start >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf;
}
