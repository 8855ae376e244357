import { once } from "node:events";
import { type FileHandle, open } from "node:fs/promises";
import type { Writable } from "node:stream";
import { ErrorCodes, VlmError } from "../errors.js";
import { sleep } from "../util/sleep.js";

export interface LineSink {
  /** Writes one whole line; resolves when the sink can take more. */
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Appends to a file, whole lines per write(), so a kill leaves at most one torn last line.
 * Data is flushed to disk (fdatasync) at most every `syncMs` and on close: a power cut loses
 * at most that interval's rows (and those of a flush still under way), which resume redoes.
 * `openFile` opens the file for appending (node's `open` unless given). `afterWrite` is given
 * the bytes of each write once they are in the file (whole lines, in file order), before the
 * next write starts (generate's in-order copy, in-order-copy.ts).
 */
export async function fileSink(
  path: string,
  syncMs = 2000,
  openFile: (path: string) => Promise<FileHandle> = (p) => open(p, "a"),
  afterWrite?: (bytes: Buffer) => Promise<void>,
): Promise<LineSink> {
  const fh = await openFile(path);
  let dirty = false;
  // A flush runs beside the writes, not before the next one: rows wait for their line's write
  // (they hold flow permits until then), and a flush can take a while, more so on a busy or
  // network filesystem, during which the whole run would stand still (docs/performance.md).
  let syncing: Promise<void> | null = null;
  // Lines wait for the next write in a batch (writes start at most every WRITE_GAP_MS, see
  // there); still only whole lines per write. A batch's lines share one promise.
  let batch: Batch | null = null;
  let writing: Promise<void> | null = null;
  let lastStart = -Infinity;
  let failure: unknown;

  const flush = async (): Promise<void> => {
    while (batch) {
      const wait = lastStart + WRITE_GAP_MS - performance.now();
      if (wait > 0) await sleep(wait);
      const b = batch;
      batch = null;
      lastStart = performance.now();
      try {
        // Encoded once here (a string write would encode it, and its length another pass).
        const bytes = Buffer.from(b.lines.join(""));
        const { bytesWritten } = await fh.write(bytes);
        // Only a full disk writes less: the last line would be torn, and later lines glued to it.
        if (bytesWritten !== bytes.length)
          throw new Error(`${path}: wrote ${bytesWritten} of ${bytes.length} bytes (is the disk full?)`);
        dirty = true;
        b.resolve();
        if (afterWrite) await afterWrite(bytes);
      } catch (e) {
        failure = e;
        b.reject(e);
      }
    }
    writing = null;
  };

  const timer = setInterval(() => {
    if (!dirty || syncing) return;
    dirty = false;
    syncing = fh
      .datasync()
      .catch(() => undefined)
      .then(() => {
        syncing = null;
      });
  }, syncMs);
  timer.unref();

  return {
    write(line) {
      if (failure) return Promise.reject(failure);
      if (!batch) {
        batch = newBatch();
        // After the current turn of the event loop: a socket read often finishes many rows.
        writing ??= new Promise<void>((r) => setImmediate(r)).then(flush);
      }
      batch.lines.push(line);
      return batch.done;
    },
    async close() {
      clearInterval(timer);
      while (writing) await writing;
      await syncing;
      await fh.datasync().catch(() => undefined);
      await fh.close();
    },
  };
}

/**
 * Shortest time between the starts of two writes. Rows wait for their line's write (they hold
 * a flow permit until then, and generate's flow has room for only 16 rows beyond its
 * concurrency, so that a stop does not send many more), so this stays short: a gap of
 * WRITE_GAP_MS keeps the rows waiting for it well inside that room, while a gap half as long
 * cost a write (most of it handing the write to the thread pool) every few rows. Measured:
 * docs/performance.md, "Figures behind the code".
 */
const WRITE_GAP_MS = 2;

type Batch = { lines: string[]; done: Promise<void>; resolve: () => void; reject: (e: unknown) => void };

function newBatch(): Batch {
  const b = { lines: [] as string[] } as unknown as Batch;
  b.done = new Promise<void>((resolve, reject) => {
    b.resolve = resolve;
    b.reject = reject;
  });
  // Whoever wrote its lines handles a failure; this keeps a batch nobody awaits from
  // counting as an unhandled rejection.
  b.done.catch(() => undefined);
  return b;
}

/** The stream's reader went away (`vlmpipe ... | head`): EPIPE, the end of the run, not a failure. */
export class ReaderGoneError extends VlmError {
  constructor(cause: unknown) {
    super(ErrorCodes.OUTPUT, "the output's reader is gone (EPIPE)", { cause });
    this.name = "ReaderGoneError";
  }
}

/**
 * stdout (or any stream): waits for 'drain' so a slow reader slows the run instead of filling
 * memory. The rows waiting share one wait (one listener, however many rows are blocked).
 */
export function streamSink(stream: Writable): LineSink {
  let drained: Promise<void> | null = null;
  let broken: unknown;
  const gone = (e: unknown) => ((e as { code?: string })?.code === "EPIPE" ? new ReaderGoneError(e) : e);
  // A write to a pipe whose reader closed fails with EPIPE after the call returns: kept here
  // (an 'error' without a listener would end the process) and thrown by the next write.
  stream.on("error", (e) => {
    broken ??= gone(e);
  });
  return {
    async write(line) {
      if (broken) throw broken;
      if (stream.write(line)) return;
      drained ??= once(stream, "drain").then(
        () => {
          drained = null;
        },
        (e: unknown) => {
          drained = null;
          throw gone(e);
        },
      );
      await drained;
      if (broken) throw broken;
    },
    async close() {
      // stdout is not ours to end
    },
  };
}
