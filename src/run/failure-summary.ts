import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { RunStats } from "./run-stats.js";

const MESSAGE_MAX = 300;

/**
 * The end-of-run lines that explain failed rows where people look (stderr), one per error code:
 *   60 failed: VLM_E_IMAGE_NOT_FOUND x60 (first: line 1, id test_Art_1: image not found: /abs/x.png, from "x.png")
 * The input line is found by reading the input again up to the first failure (cheap: only when
 * rows failed, and only as far as needed); stdin has none, so the row's position is given.
 */
export async function failureLines(
  stats: RunStats,
  input: string,
  rowRange?: { start: number; end: number },
): Promise<string[]> {
  if (stats.firstFailures.size === 0) return [];
  const offset = rowRange?.start ?? 0;
  const wanted = [...stats.firstFailures.values()].map((f) => f.index + offset);
  const lines = input === "-" ? new Map<number, number>() : await lineNumbers(input, wanted);
  return [...stats.firstFailures].map(([code, f]) => {
    const n = stats.failuresByCode.get(code) ?? 0;
    const line = lines.get(f.index + offset);
    const where = [line === undefined ? `row ${f.index + offset + 1}` : `line ${line}`];
    if (f.id !== undefined) where.push(`id ${f.id}`);
    const msg = f.message.length > MESSAGE_MAX ? `${f.message.slice(0, MESSAGE_MAX)}...` : f.message;
    return `${n} failed: ${code} x${n} (first: ${where.join(", ")}: ${msg})`;
  });
}

/** Input line numbers (1-based) of row indexes (rows are the non-blank lines, as readRows counts them). */
async function lineNumbers(file: string, indexes: number[]): Promise<Map<number, number>> {
  const wanted = new Set(indexes);
  const found = new Map<number, number>();
  const stream = createReadStream(file);
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  let index = -1;
  try {
    for await (const l of rl) {
      lineNo++;
      if (l.trim() === "") continue; // trim() takes a BOM too
      index++;
      if (wanted.has(index)) found.set(index, lineNo);
      if (found.size === wanted.size) break;
    }
  } catch {
    // unreadable now: the rows' positions are given instead
  } finally {
    rl.close();
    stream.destroy();
  }
  return found;
}
