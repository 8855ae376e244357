import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { lstat, readlink, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { ErrorCodes, VlmError } from "../errors.js";

/** Paths that name one of this process's open descriptors (`/dev/stdout`, `/dev/fd/3`). */
const OWN_FD = /^\/(?:dev\/(?:stdout|stderr|fd\/\d+)|proc\/self\/fd\/\d+)$/;

/**
 * An --output_file that names a device, a pipe or one of this process's descriptors
 * (`/dev/null`, a FIFO, `/dev/stdout`): opened and written as a stream, the way `-` writes to
 * stdout (no resume, no files beside it). Written the usual way (a file beside it renamed over
 * it at the end), /dev/null became a regular file, `/dev/stdout` a file in place of its link,
 * and the lock, spec and partial files landed in /dev. A descriptor is appended to, so a shell's
 * `>>` keeps what the file held. undefined for a regular file or a path not there yet.
 */
export async function openSpecialOutput(file: string, signal?: AbortSignal): Promise<WriteStream | undefined> {
  if (file === "-") return undefined;
  const st = await stat(file).catch(() => undefined);
  if (!st || st.isDirectory()) return undefined;
  const ownFd = OWN_FD.test(path.resolve(file)) || (await linksToOwnFd(file));
  if (st.isFile() && !ownFd) return undefined;
  const stream = createWriteStream(file, { flags: ownFd ? "a" : "w" });
  // A FIFO's open waits for a reader: Ctrl-C must still end the wait (the process exits with
  // the open left pending).
  try {
    await once(stream, "open", { signal });
  } catch (e) {
    stream.destroy();
    if (signal?.aborted) throw new VlmError(ErrorCodes.ABORTED, `${file}: interrupted while waiting to open it`);
    throw e;
  }
  return stream;
}

/** `text` as the whole content of `file`: a device, pipe or own descriptor written as a stream, else a file. */
export async function writeWholeOutput(
  file: string,
  text: string,
  writeFile: (target: string, text: string) => Promise<void>,
): Promise<void> {
  const special = await openSpecialOutput(file);
  if (!special) return writeFile(await outputTarget(file), text);
  special.write(text);
  await closeSpecialOutput(special);
}

async function linksToOwnFd(file: string): Promise<boolean> {
  const l = await lstat(file).catch(() => undefined);
  if (!l?.isSymbolicLink()) return false;
  const target = await readlink(file).catch(() => "");
  return OWN_FD.test(path.resolve(path.dirname(file), target));
}

/**
 * A regular --output_file given through a symbolic link: the file it points to, so that the
 * output (renamed into place at the end) replaces the file, not the link, and the files beside
 * it (lock, spec, partial output) sit next to the file.
 */
export async function outputTarget(file: string): Promise<string> {
  if (file === "-") return file;
  const l = await lstat(file).catch(() => undefined);
  if (!l?.isSymbolicLink()) return file;
  return realpath(file).catch(() => file);
}

/** Ends the stream and waits until everything written has been handed to the device or pipe. */
export async function closeSpecialOutput(stream: WriteStream | undefined): Promise<void> {
  if (!stream || stream.destroyed) return;
  await new Promise<void>((resolve) => stream.end(() => resolve()));
}
