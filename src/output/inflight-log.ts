import { createHash } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { scanLines } from "./scan-lines.js";

/**
 * The in-flight state of streamed answers, beside the partial output (`<out>.inflight`): for
 * each row still being generated, the text it has streamed so far, the text chunks (~tokens)
 * that took, where it was continued before, and the digest of the request that produced it.
 *
 * An append log of checksummed records, not a snapshot rewritten with a rename: a save
 * appends only what streamed since the last one (512 answers of 100K tokens would otherwise
 * rewrite ~200 MB every save). Each record is one line, `<json>\t<checksum>\n`, written
 * whole; a record torn by a kill, or any line whose checksum does not match, is ignored, as
 * is a delta that does not start where its row's saved text ends. Opening the log reads it,
 * drops the rows already finished, and rewrites it compacted (temporary file + rename), so
 * it holds at most the live text plus one run's appends.
 *
 * Records:
 *   {"i":7,"d":"<digest>","c0":120,"r0":0,"c":"...","r":"...","t":30,"a":[300]}   text appended
 *   {"i":7,"x":1}                                                                 row dropped
 */
export type SavedAnswer = {
  /** Digest of the request (and row index) that produced the text. */
  digest: string;
  content: string;
  reasoning: string;
  /** Text chunks streamed: tokens, as vLLM sends one per token. */
  tokens: number;
  /** Tokens at which earlier continuations started. */
  continuedAt: number[];
};

export type Delta = {
  index: number;
  digest: string;
  /** Where the new text goes: the saved text's lengths before it. */
  contentFrom: number;
  reasoningFrom: number;
  content: string;
  reasoning: string;
  tokens: number;
  continuedAt?: number[];
};

/**
 * A row's saved state. The text is held only from the file read at open until the row takes
 * it (see take): rows in flight append theirs without keeping a copy here.
 */
type Entry = {
  digest: string;
  content: string[] | null;
  reasoning: string[] | null;
  cLen: number;
  rLen: number;
  tokens: number;
  at: number[];
};

export function inflightPath(output: string): string {
  return `${output}.inflight`;
}

export class InflightLog {
  private fh: FileHandle | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private closed = false;
  /** Bytes appended this run (for the bench and tests). */
  bytesWritten = 0;

  private constructor(
    readonly file: string,
    private readonly entries: Map<number, Entry>,
    /** Lines skipped when read: torn or failed checksums, deltas out of place. */
    readonly ignoredRecords: number,
  ) {}

  /**
   * Reads and compacts the log; rows for which `finished(index)` holds are dropped (a finished
   * row never depends on saved text). A missing file is an empty log.
   */
  static async open(file: string, finished: (index: number) => boolean = () => false): Promise<InflightLog> {
    const entries = new Map<number, Entry>();
    let ignored = 0;
    try {
      await scanLines(file, (line) => {
        if (!applyLine(entries, line.toString("utf8"), true)) ignored++;
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    for (const i of [...entries.keys()]) if (finished(i)) entries.delete(i);
    const log = new InflightLog(file, entries, ignored);
    await log.compact();
    return log;
  }

  /**
   * The saved text of a row, if any, read when the log was opened. The log lets go of it: the
   * row holds it from then on, and appends to it.
   */
  take(index: number): SavedAnswer | undefined {
    const e = this.entries.get(index);
    if (!e?.content || !e.reasoning) return undefined;
    const saved = {
      digest: e.digest,
      content: e.content.join(""),
      reasoning: e.reasoning.join(""),
      tokens: e.tokens,
      continuedAt: [...e.at],
    };
    e.content = e.reasoning = null;
    return saved;
  }

  has(index: number): boolean {
    return this.entries.has(index);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Appends records (one write); the in-memory view follows at once. */
  append(deltas: Delta[], dropped: number[] = []): Promise<void> {
    const lines: string[] = [];
    for (const i of dropped) {
      if (!this.entries.delete(i)) continue;
      lines.push(record({ i, x: 1 }));
    }
    for (const d of deltas) {
      const json: Record<string, unknown> = {
        i: d.index,
        d: d.digest,
        c0: d.contentFrom,
        r0: d.reasoningFrom,
        c: d.content,
        r: d.reasoning,
        t: d.tokens,
      };
      if (d.continuedAt) json.a = d.continuedAt;
      // Checked against the row's state as read back would be, without parsing it back.
      if (applyRecord(this.entries, json, false)) lines.push(record(json));
    }
    if (lines.length === 0 || this.closed) return this.writing;
    const text = lines.join("");
    this.bytesWritten += Buffer.byteLength(text);
    this.writing = this.writing.then(async () => {
      if (this.failure) return;
      try {
        this.fh ??= await open(this.file, "a");
        await this.fh.write(text);
      } catch (e) {
        // Saving is best effort: a row without saved text restarts, as before.
        this.failure = e;
      }
    });
    return this.writing;
  }

  /** Waits for writes; removes the file when no row has saved text left. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    await this.fh?.close();
    this.fh = undefined;
    if (this.entries.size === 0) await rm(this.file, { force: true });
  }

  private async compact(): Promise<void> {
    if (this.entries.size === 0) {
      await rm(this.file, { force: true });
      return;
    }
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, "w");
    try {
      for (const [i, e] of this.entries) {
        const json = {
          i,
          d: e.digest,
          c0: 0,
          r0: 0,
          c: e.content?.join("") ?? "",
          r: e.reasoning?.join("") ?? "",
          t: e.tokens,
          a: e.at,
        };
        await fh.write(record(json));
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
  }
}

function checksum(json: string): string {
  return createHash("sha1").update(json).digest("hex").slice(0, 12);
}

function record(json: Record<string, unknown>): string {
  const text = JSON.stringify(json);
  return `${text}\t${checksum(text)}\n`;
}

type Rec = {
  i?: unknown;
  x?: unknown;
  d?: unknown;
  c0?: unknown;
  r0?: unknown;
  c?: unknown;
  r?: unknown;
  t?: unknown;
  a?: unknown;
};

/** Applies one line (without its newline); false when it is ignored. `keepText`: when reading the file. */
function applyLine(entries: Map<number, Entry>, line: string, keepText: boolean): boolean {
  const tab = line.lastIndexOf("\t");
  if (tab < 0) return false;
  const json = line.slice(0, tab);
  if (checksum(json) !== line.slice(tab + 1)) return false;
  let r: Rec;
  try {
    r = JSON.parse(json) as Rec;
  } catch {
    return false;
  }
  return applyRecord(entries, r, keepText);
}

/** Applies one record to the rows' state; false when it is ignored. */
function applyRecord(entries: Map<number, Entry>, r: Rec, keepText: boolean): boolean {
  if (typeof r.i !== "number") return false;
  if (r.x) return entries.delete(r.i) || true;
  if (typeof r.d !== "string" || typeof r.c !== "string" || typeof r.r !== "string" || typeof r.t !== "number")
    return false;
  let e = entries.get(r.i);
  if (e && e.digest !== r.d) {
    entries.delete(r.i);
    e = undefined;
  }
  e ??= {
    digest: r.d,
    content: keepText ? [] : null,
    reasoning: keepText ? [] : null,
    cLen: 0,
    rLen: 0,
    tokens: 0,
    at: [],
  };
  // A delta must start where the saved text ends; anything else cannot be trusted.
  if (r.c0 !== e.cLen || r.r0 !== e.rLen) {
    entries.delete(r.i);
    return false;
  }
  if (!keepText) e.content = e.reasoning = null;
  if (r.c) e.content?.push(r.c);
  if (r.r) e.reasoning?.push(r.r);
  e.cLen += r.c.length;
  e.rLen += r.r.length;
  e.tokens += r.t;
  if (Array.isArray(r.a)) e.at = r.a.filter((n): n is number => typeof n === "number");
  entries.set(r.i, e);
  return true;
}
