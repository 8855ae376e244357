import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { stat } from "node:fs/promises";

/**
 * An --output_file that names a device or a pipe (`/dev/null`, `/dev/stdout`, a FIFO): opened and
 * written as a stream, the way `-` writes to stdout (no resume, no files beside it). Written the
 * usual way (a file beside it renamed over it at the end), /dev/null became a regular file and the
 * lock, spec and partial files landed in /dev. undefined for a regular file or a path not there yet.
 */
export async function openSpecialOutput(file: string): Promise<WriteStream | undefined> {
  if (file === "-") return undefined;
  const st = await stat(file).catch(() => undefined);
  if (!st || st.isFile() || st.isDirectory()) return undefined;
  const stream = createWriteStream(file, { flags: "w" });
  await once(stream, "open");
  return stream;
}

/** Ends the stream and waits until everything written has been handed to the device or pipe. */
export async function closeSpecialOutput(stream: WriteStream | undefined): Promise<void> {
  if (!stream || stream.destroyed) return;
  await new Promise<void>((resolve) => stream.end(() => resolve()));
}
