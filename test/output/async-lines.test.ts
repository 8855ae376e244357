import { describe, expect, it } from "vitest";
import { parseLine } from "../../src/operators/read-rows.js";
import { finalLineParts, formatAsyncLine, formatLine, lineInfoAt, readLineInfo } from "../../src/output/async-lines.js";
import { MAX_KEPT_TEXT, rowText } from "../../src/output/row-source.js";

/**
 * The line as `{...row, ...out}` minus _async_position (and a row's own error when the run
 * failed), then the run's error and _async_position last. A row's own `error` is data and stays.
 */
function reference(row: Record<string, unknown>, out: Record<string, unknown>, index: number, error?: unknown): string {
  const obj: Record<string, unknown> = { ...row, ...out };
  delete obj._async_position;
  if (error !== undefined) {
    delete obj.error;
    obj.error = error;
  }
  obj._async_position = index;
  return JSON.stringify(obj) + "\n";
}

describe("formatAsyncLine", () => {
  it("writes what serialising the merged row writes, byte for byte, whatever the keys", () => {
    const rows: Record<string, unknown>[] = [
      {},
      { id: "q1", problem: 'a "b"\n\u2028 é', expected_answer: "B", image_path: null },
      { "1": 2, b: 3 },
      { error: "old", a: 1 },
      { _async_position: 3, a: 1 },
      JSON.parse('{"__proto__":1,"x":2}') as Record<string, unknown>,
      { toJSON: "not a function" },
      { nested: [1, { toJSON: () => 5 }], d: new Date(0) },
    ];
    const outs: Record<string, unknown>[] = [
      {},
      { generation: "y", num_generated_tokens: 3, generation_start_time: 1795714682.261, generation_time: 0.078 },
      { "2": 1, z: 1 },
      { a: 9 },
      { error: 1 },
      { u: undefined },
      { u: undefined, v: 1 },
      { toJSON: () => ({ replaced: true }) },
      Object.assign(Object.create({ inherited: 1 }) as Record<string, unknown>, { own: 2 }),
      { big: 1.5e300, neg: -0, nan: Number.NaN },
    ];
    const error = { stage: "generate", code: "VLM_E_HTTP", message: "HTTP 500", attempts: 3 };
    for (const row of rows) {
      for (const out of outs) {
        for (const index of [0, 7, 2 ** 53, -0, Number.NaN]) {
          for (const err of [undefined, error])
            expect(formatAsyncLine(row, out, index, err)).toBe(reference(row, out, index, err));
        }
      }
    }
  });
});

describe("lines of rows read from text", () => {
  const out = { generation: "x\ny", num_generated_tokens: 2 };
  const read = (line: string) => parseLine(line, 0, 1, true).row;
  // As writeOutput and score call them: the sample's text while its row is the one read.
  const asyncLine = (line: string, o: Record<string, unknown>, index: number, error?: unknown) => {
    const s = parseLine(line, index, 1, true);
    return formatAsyncLine(s.row, o, index, error, rowText(s));
  };
  const scoreLine = (line: string, o: Record<string, unknown>) => {
    const s = parseLine(line, 0, 1, true);
    return formatLine(s.row, o, undefined, rowText(s));
  };

  it("repeat the text of a row with its own `error` field (data) too, unless the run failed", () => {
    const text = '{"id": 12345678901234567890, "f": 1.0, "error": "my own"}';
    expect(asyncLine(text, out, 3)).toBe(
      `${text.slice(0, -1)},"generation":"x\\ny","num_generated_tokens":2,"_async_position":3}\n`,
    );
    expect(scoreLine(text, out)).toBe(`${text.slice(0, -1)},"generation":"x\\ny","num_generated_tokens":2}\n`);
    // The run's error replaces the row's own field, so that line is serialised again.
    const error = { stage: "generate", code: "VLM_E_HTTP", message: "HTTP 500" };
    expect(asyncLine(text, {}, 4, error)).toBe(reference(read(text), {}, 4, error));
  });

  it("repeat the row's own text: big integers, number formats, escapes and spacing as read", () => {
    const text = '{"id": 12345678901234567890, "f": 1.0, "e": "caf\\u00e9", "n": [1, 2e3], "s": "a\\/b"}';
    expect(JSON.parse(text)).toEqual(read(`  ${text}\t`));
    const line = asyncLine(`  ${text}\t`, out, 5);
    expect(line).toBe(`${text.slice(0, -1)},"generation":"x\\ny","num_generated_tokens":2,"_async_position":5}\n`);
    expect(scoreLine(text, out)).toBe(`${text.slice(0, -1)},"generation":"x\\ny","num_generated_tokens":2}\n`);
    // A failed row's line too, its error last; the final line drops the position as before.
    const error = { stage: "generate", code: "VLM_E_HTTP", message: "HTTP 500" };
    const failed = asyncLine(text, {}, 6, error);
    expect(failed).toBe(`${text.slice(0, -1)},"error":${JSON.stringify(error)},"_async_position":6}\n`);
    const buf = Buffer.from(failed.slice(0, -1));
    const info = readLineInfo(buf);
    expect(info).toMatchObject({ position: 6, failed: true });
    expect(Buffer.concat(finalLineParts(buf, info!)).toString()).toBe(
      `${text.slice(0, -1)},"error":${JSON.stringify(error)}}\n`,
    );
  });

  it("serialise the row again when it is a copy, empty, too long, or joining would change it", () => {
    const s = parseLine('{"id": 1.50, "a": "b"}', 1, 1, true);
    const copy = { ...s, row: { ...s.row } };
    expect(formatAsyncLine(copy.row, out, 1, undefined, rowText(copy))).toBe(reference({ id: 1.5, a: "b" }, out, 1));
    for (const empty of ["{}", "{ }", " {\t} "]) {
      expect(asyncLine(empty, out, 2)).toBe(reference({}, out, 2));
      expect(scoreLine(empty, {})).toBe("{}\n");
    }
    const long = `{"id": 1, "pad": "${"x".repeat(MAX_KEPT_TEXT)}"}`;
    expect(asyncLine(long, out, 3)).toBe(reference(read(long), out, 3));
    // A key in both: the merged object is written, as before.
    expect(asyncLine('{"generation": 1, "k": 2.0}', out, 4)).toBe(reference({ generation: 1, k: 2 }, out, 4));
  });
});

describe("lineInfoAt", () => {
  it("reads position and status in place, and sends odd lines to the slow path", () => {
    const lines = [
      formatAsyncLine({ a: 1 }, { generation: "x" }, 12),
      formatAsyncLine({ a: 1 }, {}, 4, { stage: "s", code: "c", message: "m" }),
      '{"a":1,"_async_posXtion":5}\n',
      '{"_async_position":5,"a":1}\n',
    ].map((l) => l.slice(0, -1));
    const buf = Buffer.from(`xx${lines.join("\n")}`);
    let at = 2;
    const infos = lines.map((l) => {
      const len = Buffer.byteLength(l);
      const info = lineInfoAt(buf, at, at + len);
      at += len + 1;
      return info;
    });
    expect(infos[0]).toMatchObject({ position: 12, failed: false });
    expect(infos[0]?.bodyEnd).toBe(lines[0]!.indexOf(',"_async_position"'));
    expect(infos[1]).toMatchObject({ position: 4, failed: true });
    expect(infos[2]).toBeNull();
    expect(infos[3]).toEqual({ position: 5, failed: false, bodyEnd: -1, digest: -1 });
    expect(readLineInfo(Buffer.from(lines[0]!))).toEqual(infos[0]);
  });

  it("reads the row digest before the position, for done, failed and empty rows, and leaves it out of the final line", () => {
    const err = { stage: "s", code: "c", message: "m" };
    const cases: [Record<string, unknown>, Record<string, unknown>, unknown][] = [
      [{ a: 1 }, { generation: "x" }, undefined],
      [{ a: 1 }, {}, err],
      [{}, {}, undefined],
      [{ "1": 2 }, { g: 1 }, err],
    ];
    for (const [row, out, error] of cases) {
      const line = formatAsyncLine(row, out, 9, error, undefined, 0x0badf00d).slice(0, -1);
      expect(JSON.parse(line)).toMatchObject({ _row_digest: "0badf00d", _async_position: 9 });
      const info = readLineInfo(Buffer.from(line))!;
      expect(info).toMatchObject({ position: 9, failed: error !== undefined, digest: 0x0badf00d });
      const final = JSON.parse(Buffer.concat(finalLineParts(Buffer.from(line), info)).toString());
      expect(final).toEqual(error === undefined ? { ...row, ...out } : { ...row, ...out, error });
    }
    expect(readLineInfo(Buffer.from(formatAsyncLine({ a: 1 }, {}, 3).slice(0, -1)))).toMatchObject({ digest: -1 });
  });
});
