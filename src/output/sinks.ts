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
  // Lines that arrive while a write is under way go out together in the next write: fewer
  // syscalls at thousands of rows per second, and still only whole lines per write.
  let pending: string[] = [];
  let waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  let writing: Promise<void> | null = null;
  let failure: unknown;

  const flush = async (): Promise<void> => {
    while (pending.length) {
      const lines = pending.join("");
      const done = waiters;
      pending = [];
      waiters = [];
      try {
        await fh.write(lines);
        dirty = true;
        for (const w of done) w.resolve();
      } catch (e) {
        failure = e;
        for (const w of done) w.reject(e);
      }
    }
    writing = null;
  };

  const timer = setInterval(() => {
    if (!dirty || writing) return;
    dirty = false;
    writing = fh.datasync().catch(() => undefined).then(flush);
  }, syncMs);
  timer.unref();

  return {
    write(line) {
      if (failure) return Promise.reject(failure);
      return new Promise<void>((resolve, reject) => {
        pending.push(line);
        waiters.push({ resolve, reject });
        writing ??= flush();
      });
    },
    async close() {
      clearInterval(timer);
      while (writing) await writing;
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
