import type { RowSource, Sample } from "../types.js";

/**
 * Rows keep the input line they were read from (Sample.source), and output lines repeat it
 * instead of serialising the row again: a text row's line is cheaper, and the input's
 * fields come out as they went in (integers beyond 2^53, number formats, escapes, spacing).
 * The text counts only while the sample's row is the object read from it: a chain that
 * replaces the row with a copy gets it serialised. Lines are kept only when asked
 * (readRows' keepSource): where rows wait in numbers and are replaced anyway (`score
 * --expected_answer_key`, 1,024 rows in its flow), holding them raised the peak RSS for
 * nothing. Measured: docs/performance.md, "Figures behind the code".
 */

/**
 * Longer lines are not kept: a row in flight would hold its fields twice (rows of embedded
 * base64 images, at concurrency 512, hundreds of MB); those rows are serialised again.
 */
export const MAX_KEPT_TEXT = 256 * 1024;

/** The source of `row` read from `line` (whitespace around the object allowed), or undefined when not kept. */
export function rowSource(row: Record<string, unknown>, line: string): RowSource | undefined {
  if (line.length > MAX_KEPT_TEXT) return undefined;
  let text = line;
  if (text.charCodeAt(0) !== 0x7b /* { */ || text.charCodeAt(text.length - 1) !== 0x7d /* } */) {
    text = text.trim();
    if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) return undefined;
  }
  // An empty object's text may hold spaces (`{ }`); lines join on `{}` being two characters.
  for (const _ in row) return { row, text };
  return undefined;
}

/** The sample's row as read, when that text still stands for its row. */
export function rowText(s: Sample): string | undefined {
  const src = s.source;
  return src !== undefined && src.row === s.row ? src.text : undefined;
}
