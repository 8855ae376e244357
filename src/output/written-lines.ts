import { asyncLineInfo } from "./async-lines.js";
import { LineIndex } from "./line-index.js";

/**
 * Where each line a run appends to its async file lands, known as the line is handed to the
 * file's sink (which writes lines whole and in the order given): finalize then reads back only
 * what earlier runs wrote (nothing, on a fresh run) instead of scanning the whole file again.
 */
export class WrittenLines {
  readonly index = new LineIndex();
  private end: number;

  /** `from`: the async file's size before this run's first line. */
  constructor(readonly from: number) {
    this.end = from;
  }

  /** The file's size once the lines added so far are written. */
  get to(): number {
    return this.end;
  }

  /** A line formatAsyncLine made of these values, about to be written. */
  add(line: string, position: number, error: unknown, digest: number | undefined): void {
    const bytes = Buffer.byteLength(line);
    // Lengths as the file's scan counts them: without the "\n".
    this.index.set(position, this.end, bytes - 1, asyncLineInfo(line, bytes, position, error, digest));
    this.end += bytes;
  }
}
