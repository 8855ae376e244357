import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ErrorCodes, VlmError } from "../errors.js";
import type { ImageOptions } from "./options.js";
import { sniffImageMime } from "./sniff-mime.js";

export type ResolveContext = {
  /** Folder relative paths are resolved against (the input JSONL's folder, or --data_dir). */
  baseDir: string;
  options: ImageOptions;
};

/**
 * Turns an image reference from a row into a URL the server accepts:
 * http(s) and data: URLs pass through; a local path (relative or absolute, or file://)
 * is read and sent as a base64 data URL whose mime type comes from the bytes.
 */
export async function resolveImage(ref: string, ctx: ResolveContext): Promise<string> {
  if (/^https?:\/\//i.test(ref) || /^data:/i.test(ref)) return ref;
  const file = ref.startsWith("file://") ? new URL(ref).pathname : path.resolve(ctx.baseDir, ref);
  const bytes = await readLocal(file, ref);
  const mime = sniffImageMime(bytes);
  if (!mime) throw new VlmError(ErrorCodes.IMAGE_DECODE, `not an image (unknown format): ${file}`);
  return `data:${mime};base64,${bytes.toString("base64")}`;
}

async function readLocal(file: string, ref: string): Promise<Buffer> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new VlmError(ErrorCodes.IMAGE_READ, `image path is a directory: ${file}`);
    return await readFile(file);
  } catch (e) {
    if (e instanceof VlmError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new VlmError(ErrorCodes.IMAGE_NOT_FOUND, `image not found: ${file} (from "${ref}")`);
    throw new VlmError(ErrorCodes.IMAGE_READ, `cannot read image ${file}: ${(e as Error).message}`);
  }
}
