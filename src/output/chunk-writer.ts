import type { FileHandle } from "node:fs/promises";

/**
 * Writes many small pieces to a file through one reused buffer: each piece is copied in, and
 * the buffer goes to the file when full. Nothing is allocated per piece, so the memory a long
 * write takes is the buffer's size, whatever the file's.
 */
export class ChunkWriter {
  private readonly buf: Buffer;
  private used = 0;
  private position = 0;

  constructor(
    private readonly fh: FileHandle,
    size = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Copies `part` in; returns a promise only when the buffer had to be written out first. */
  put(part: Buffer): Promise<void> | undefined {
    if (this.used + part.length <= this.buf.length) {
      part.copy(this.buf, this.used);
      this.used += part.length;
      return undefined;
    }
    return this.spill(part);
  }

  /** Writes what is buffered. */
  async flush(): Promise<void> {
    await this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private async spill(part: Buffer): Promise<void> {
    await this.flush();
    if (part.length > this.buf.length) await this.writeAll(part);
    else {
      part.copy(this.buf, 0);
      this.used = part.length;
    }
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}
