import { createReadStream } from "node:fs";
import { UsageError } from "../errors.js";

/**
 * A file's lines, read in large chunks and handed out one at a time without an await per line
 * (summaries read 1,000,000-line files in lockstep). Blank lines at the end are skipped; one
 * before another line is refused: it would put that file's rows out of step with the other
 * runs' (NeMo-Skills' summarize_results fails on any blank line, its JSON being empty).
 */
export class LineSource {
  private readonly chunks: AsyncIterator<string>;
  private lines: string[] = [];
  private pos = 0;
  private tail: string[] = [];
  private ended = false;
  /** 1-based number of the last line taken (blank lines included), for messages. */
  lineNumber = 0;

  constructor(readonly path: string) {
    const stream = createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 });
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  }

  /** 1-based number of the first blank line not yet followed by another line (0: none). */
  private blankAt = 0;

  /** The next non-blank line, undefined at the end of the file. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const line = this.takeBuffered();
      if (line !== null) return line;
      await this.fill();
    }
  }

  /** The next line when one is buffered, without waiting; null when a read is needed. */
  takeBuffered(): string | undefined | null {
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos++]!;
      this.lineNumber++;
      if (line.trim() === "") {
        this.blankAt ||= this.lineNumber;
        continue;
      }
      if (this.blankAt) {
        throw new UsageError(
          `${this.path} line ${this.blankAt} is blank: each line must be one row, in the same order in every run's file`,
        );
      }
      return line;
    }
    return this.ended ? undefined : null;
  }

  async close(): Promise<void> {
    await this.chunks.return?.();
  }

  private async fill(): Promise<void> {
    this.lines = [];
    this.pos = 0;
    while (this.lines.length === 0 && !this.ended) {
      const r = await this.chunks.next();
      if (r.done) {
        this.ended = true;
        const last = this.tail.join("");
        this.tail = [];
        if (last !== "") this.lines = [last];
        return;
      }
      const chunk = r.value;
      const nl = chunk.lastIndexOf("\n");
      if (nl < 0) {
        this.tail.push(chunk); // a long line: keep pieces, join once
        continue;
      }
      this.tail.push(chunk.slice(0, nl));
      this.lines = this.tail.join("").split("\n");
      this.tail = nl + 1 < chunk.length ? [chunk.slice(nl + 1)] : [];
    }
  }
}
