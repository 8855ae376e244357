import { open, readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { UsageError } from "../errors.js";

/**
 * A file holding one JSON array of row objects (the MMMU authors' output.json files) as JSONL
 * for readRows; null when the file does not start with "[" (JSONL, read as it is). The array is
 * read whole: such files are small; JSONL streams.
 */
export async function jsonArrayInput(path: string): Promise<Readable | null> {
  const fh = await open(path, "r");
  let head: string;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(256), 0, 256, 0);
    head = buffer
      .subarray(0, bytesRead)
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .trimStart();
  } finally {
    await fh.close();
  }
  if (!head.startsWith("[")) return null;
  let rows: unknown;
  try {
    // (A BOM is not JSON: the file is read past it, as its head was.)
    rows = JSON.parse((await readFile(path, "utf8")).replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new UsageError(
      `${path} starts like a JSON array but is not one (${(e as Error).message}); give JSONL or a JSON array of rows`,
    );
  }
  if (!Array.isArray(rows)) throw new UsageError(`${path}: not a JSON array of rows`);
  return Readable.from(rows.map((r) => `${JSON.stringify(r)}\n`));
}
