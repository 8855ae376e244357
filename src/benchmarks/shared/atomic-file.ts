/**
 * Files that appear whole or not at all: written under a temporary name in the same folder,
 * then renamed (atomic on one filesystem). A killed prepare leaves a `.tmp-*` file behind,
 * never a test.jsonl that looks complete but is not.
 */

import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { open, rename, rm, writeFile } from "node:fs/promises";

function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tmpName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Line-by-line writer with backpressure; `commit()` syncs and renames, `abort()` removes. */
export class AtomicLineWriter {
  private readonly tmp: string;
  private readonly out: WriteStream;
  private failed: Error | undefined;

  constructor(readonly path: string) {
    this.tmp = tmpName(path);
    this.out = createWriteStream(this.tmp, { flags: "wx" });
    this.out.on("error", (e) => {
      this.failed = e;
    });
  }

  async write(line: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.out.write(`${line}\n`)) await once(this.out, "drain");
  }

  async commit(): Promise<void> {
    if (this.failed) throw this.failed;
    this.out.end();
    await once(this.out, "close");
    if (this.failed) throw this.failed;
    const fh = await open(this.tmp, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    this.out.destroy();
    await rm(this.tmp, { force: true });
  }
}
