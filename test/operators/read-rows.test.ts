import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { Flow } from "../../src/operators/flow.js";
import { readRows } from "../../src/operators/read-rows.js";

const read = (text: string, opts = {}) => lastValueFrom(readRows(Readable.from([text]), opts).pipe(toArray()));

describe("readRows", () => {
  it("reads rows with a BOM, CRLF line ends and blank lines, indexing rows from 0", async () => {
    const rows = await read('\uFEFF{"a":1}\r\n\r\n{"a":2}\r\n   \n{"a":3}');
    expect(rows.map((s) => [s.index, s.row.a])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expect(rows.every((s) => s.error === undefined)).toBe(true);
  });

  it("keeps each row's line on the sample only when asked (keepSource), trimmed, not for empty rows", async () => {
    const text = '{"a": 1.0}\r\n  {"b":12345678901234567890}\t\n{ }\n';
    expect((await read(text)).map((s) => s.source)).toEqual([undefined, undefined, undefined]);
    const rows = await read(text, { keepSource: true });
    expect(rows.map((s) => s.source?.text)).toEqual(['{"a": 1.0}', '{"b":12345678901234567890}', undefined]);
    expect(rows.every((s) => s.source === undefined || s.source.row === s.row)).toBe(true);
  });

  it("turns a bad line into an error record naming its line number and goes on", async () => {
    const rows = await read('{"a":1}\n{oops\n[1,2]\n42\n{"a":5}\n');
    expect(rows).toHaveLength(5);
    expect(rows[1]?.error).toMatchObject({ code: "VLM_E_BAD_JSON", stage: "readRows" });
    expect(rows[1]?.error?.message).toMatch(/^line 2: not valid JSON/);
    expect(rows[2]?.error).toMatchObject({
      code: "VLM_E_NOT_AN_OBJECT",
      message: "line 3: a row must be a JSON object, got an array",
    });
    expect(rows[3]?.error?.message).toBe("line 4: a row must be a JSON object, got a number");
    expect(rows[4]).toMatchObject({ index: 4, row: { a: 5 } });
  });

  it("refuses an input that is a directory as a usage error naming it, as a missing one", async () => {
    for (const [input, message] of [
      [tmpdir(), /is a directory: give a JSONL file/],
      [path.join(tmpdir(), "vlmpipe-no-such-input.jsonl"), /input file not found/],
    ] as const) {
      const err = await lastValueFrom(readRows(input)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it("reads NaN, Infinity and -Infinity as json.loads does (Python's json.dumps writes them), not inside strings", async () => {
    const rows = await read(
      '{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN -Infinity"}\n{"a": NaNa}\n{"a": "x", "b": Infinityy}\n',
    );
    expect(rows[0]?.error).toBeUndefined();
    expect(rows[0]?.row).toEqual({ a: Number.NaN, b: [Infinity, -Infinity], c: "NaN -Infinity" });
    // Still not JSON: JSON.parse's own error, with the line number.
    expect(rows.slice(1).map((s) => s.error?.code)).toEqual(["VLM_E_BAD_JSON", "VLM_E_BAD_JSON"]);
    expect(rows[2]?.error?.message).toMatch(/^line 3: not valid JSON \(.*JSON/);
  });

  it("reads lines beyond ASCII, a bad UTF-8 line among good ones, and a BOM starting a later line", async () => {
    const text = Buffer.concat([
      Buffer.from('{"a":"é 日本 🙂"}\n'),
      Buffer.from('{"a":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}\n\uFEFF{"a":3}\n{"a":"ok"}\n'),
    ]);
    for (const input of [[text], [...text].map((b) => Buffer.from([b]))]) {
      const rows = await lastValueFrom(readRows(Readable.from(input)).pipe(toArray()));
      expect(rows.map((s) => s.error?.code ?? s.row.a)).toEqual(["é 日本 🙂", "VLM_E_ENCODING", 3, "ok"]);
      expect(rows[1]?.error?.message).toMatch(/^line 2: not valid UTF-8/);
    }
    // Without bad lines, a BOM starting a later line is dropped as well.
    const good = await read('{"a":1}\n\uFEFF{"a":2}\n');
    expect(good.map((s) => s.row.a)).toEqual([1, 2]);
  });

  it("reads an empty input as no rows and a file without a final newline fully", async () => {
    expect(await read("")).toEqual([]);
    expect((await read('{"a":1}\n{"a":2}')).length).toBe(2);
  });

  it("reads a line that spans thousands of small chunks (stdin's way), and a last one without a newline", async () => {
    const long = JSON.stringify({ id: "long", problem: "x".repeat(3_000_000) });
    const text = `${long}\n{"id":"short"}\n${long}`;
    const chunks: Buffer[] = [];
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 1024) chunks.push(bytes.subarray(i, i + 1024));
    const rows = await lastValueFrom(readRows(Readable.from(chunks)).pipe(toArray()));
    expect(rows.map((r) => r.row.id)).toEqual(["long", "short", "long"]);
    expect((rows[0]!.row.problem as string).length).toBe(3_000_000);
    expect(rows[2]!.row).toEqual(rows[0]!.row);
  });

  it("skips done indexes and stops after max_samples", async () => {
    const text = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i })).join("\n");
    const rows = await read(text, { skip: (i: number) => i % 2 === 0, maxSamples: 6 });
    expect(rows.map((s) => s.index)).toEqual([1, 3, 5]);
  });

  it("reads every row when max_samples is 0 or below (NeMo-Skills limits only when > 0)", async () => {
    const text = Array.from({ length: 4 }, (_, i) => JSON.stringify({ i })).join("\n");
    for (const maxSamples of [0, -1, -5]) {
      expect((await read(text, { maxSamples })).map((s) => s.index)).toEqual([0, 1, 2, 3]);
    }
  });

  it("pulls no more rows than the flow window allows until permits come back", async () => {
    const text = Array.from({ length: 100 }, (_, i) => JSON.stringify({ i })).join("\n");
    const flow = new Flow(5);
    const seen: number[] = [];
    const sub = readRows(Readable.from([text]), { flow }).subscribe((s) => seen.push(s.index));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    flow.release(3);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(8);
    sub.unsubscribe();
  });
});

describe("readRows and a graceful stop", () => {
  it("ends the wait for more input (stdin kept open by its producer) when the stop fires", async () => {
    const input = new PassThrough();
    input.write('{"id":1}\n{"id":2}\n');
    const stop = new AbortController();
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) => {
      readRows(input, { stop: stop.signal }).subscribe({
        next: (s) => {
          seen.push(s.index);
          if (seen.length === 2) setTimeout(() => stop.abort(), 20);
        },
        error: reject,
        complete: resolve,
      });
    });
    expect(seen).toEqual([0, 1]);
    input.destroy();
  });
});
