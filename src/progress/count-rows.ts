import { isBlankLine, scanLineRanges, startsWithBom } from "../output/scan-lines.js";

/**
 * Rows of a JSONL file as readRows counts them (non-blank lines; a leading BOM is not
 * content), at most `max`: progress totals and eval chunking. Line bounds, not a Buffer per
 * line: this runs beside a resume's skipping of a million rows.
 */
export async function countRows(file: string, max = Infinity): Promise<number> {
  let n = 0;
  const { validBytes, tail } = await scanLineRanges(file, (buf, start, end, offset) => {
    if (offset === 0 && startsWithBom(buf, start, end)) start += 3;
    if (!isBlankLine(buf, start, end)) n++;
  });
  // The last line may have no newline; it is the first line when there is no other.
  const from = validBytes === 0 && startsWithBom(tail, 0, tail.length) ? 3 : 0;
  if (!isBlankLine(tail, from, tail.length)) n++;
  return Math.min(n, max);
}
