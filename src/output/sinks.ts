import { once } from "node:events";
import { type FileHandle, open } from "node:fs/promises";
import type { Writable } from "node:stream";

export interface LineSink {
  /** Writes one whole line; resolves when the sink can take more. */
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Appends to a file with one write() per line, so a kill leaves at most one torn last line.
 * Data is flushed to disk (fdatasync) at most every `syncMs` and on close: a power cut loses
 * at most that interval's rows, which resume redoes.
 */
export async function fileSink(path: string, syncMs = 2000): Promise<LineSink> {
  const fh: FileHandle = await open(path, "a");
  let dirty = false;
  let chain: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    chain = chain.then(() => fh.datasync()).catch(() => undefined);
  }, syncMs);
  timer.unref();
  return {
    write(line) {
      const p = chain.then(() => fh.write(line));
      chain = p.catch(() => undefined);
      dirty = true;
      return p.then(() => undefined);
    },
    async close() {
      clearInterval(timer);
      await chain;
      await fh.datasync().catch(() => undefined);
      await fh.close();
    },
  };
}

/** stdout (or any stream): waits for 'drain' so a slow reader slows the run instead of filling memory. */
export function streamSink(stream: Writable): LineSink {
  return {
    async write(line) {
      if (!stream.write(line)) await once(stream, "drain");
    },
    async close() {
      // stdout is not ours to end
    },
  };
}
