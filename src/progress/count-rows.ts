import { scanLines } from "../output/scan-lines.js";

/** Rows of a JSONL file (non-blank lines), for progress totals; reads the file once, fast. */
export async function countRows(file: string): Promise<number> {
  let n = 0;
  const { tail } = await scanLines(file, (line) => {
    for (const c of line) {
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) {
        n++;
        return;
      }
    }
  });
  return tail.some((c) => c !== 0x20 && c !== 0x09 && c !== 0x0d) ? n + 1 : n;
}
