import { scanLineRanges } from "../output/scan-lines.js";

/** Rows of a JSONL file (non-blank lines), for progress totals; reads the file once, fast. */
export async function countRows(file: string): Promise<number> {
  let n = 0;
  // Bounds, not a Buffer per line: this runs beside a resume's skipping of a million rows.
  const { tail } = await scanLineRanges(file, (buf, start, end) => {
    if (!isBlank(buf, start, end)) n++;
  });
  return isBlank(tail, 0, tail.length) ? n : n + 1;
}

function isBlank(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}
