import { constants } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors.js";

/**
 * Output paths checked before any request or image work, each failure one line naming the path
 * and the cause (exit 2): a path that is a folder, a folder that cannot be made (a part of the
 * path is a file, no permission, a read-only file system), a folder or file that cannot be
 * written. A missing folder is made, as NeMo-Skills does.
 */
export async function checkOutputFile(file: string, flag = "--output_file"): Promise<void> {
  const st = await statOrUndefined(file);
  if (st?.isDirectory()) {
    throw new UsageError(`${flag} ${file} is a folder; give a file path, e.g. ${path.join(file, "output.jsonl")}`);
  }
  await checkOutputDir(path.dirname(path.resolve(file)), `the folder of ${flag} ${file}`);
  if (st) await accessOrThrow(file, `${flag} ${file}`);
}

/** The folder exists or is made, and can be written. */
export async function checkOutputDir(dir: string, what = `--output_dir ${dir}`): Promise<void> {
  const blocker = await fileInPath(dir);
  if (blocker) throw new UsageError(`cannot make ${what}: ${blocker} is a file, not a folder`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot make ${what} (${dir}): ${fsCause(e)}`);
  }
  await accessOrThrow(dir, `${what} (${dir})`);
}

/** The reason of a file-system error, in words (and its code). */
export function fsCause(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    ENOTDIR: "a part of the path is a file, not a folder",
    EISDIR: "it is a folder",
    ENOENT: "no such file or folder",
    ENAMETOOLONG: "the name is too long",
  };
  const w = err.code ? words[err.code] : undefined;
  return w ? `${w} (${err.code})` : (err.message ?? String(e));
}

async function accessOrThrow(p: string, what: string): Promise<void> {
  try {
    // W_OK reports a read-only file system even to root, who passes permission bits.
    await access(p, constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write ${what}: ${fsCause(e)}`);
  }
}

/** The first existing ancestor of `dir` (or `dir`) when it is not a folder. */
async function fileInPath(dir: string): Promise<string | undefined> {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    const st = await statOrUndefined(p);
    if (st) return st.isDirectory() ? undefined : p;
    if (path.dirname(p) === p) return undefined;
  }
}

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch {
    return undefined;
  }
}
