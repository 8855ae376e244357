import { appendFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatAsyncLine, type LineInfo, lineInfoAt } from "../../src/output/async-lines.js";
import { LineIndex } from "../../src/output/line-index.js";
import { finalizeOutput, outputPaths } from "../../src/output/partial-output.js";
import { scanLineRanges } from "../../src/output/scan-lines.js";
import { fileSink } from "../../src/output/sinks.js";
import { WrittenLines } from "../../src/output/written-lines.js";

async function tmp() {
  return mkdtemp(path.join(tmpdir(), "vlmpipe-written-"));
}

const err = { stage: "generate", code: "VLM_E_HTTP", message: "HTTP 500" };

/** [row, out, index, error, digest]: the kinds of lines a run writes. */
type Case = [Record<string, unknown>, Record<string, unknown>, number, unknown, number | undefined];
const cases: Case[] = [
  [{ q: "plain" }, { generation: "B" }, 3, undefined, 0x1234abcd],
  [{ q: "no digest" }, { generation: "C" }, 0, undefined, undefined],
  [{ q: "failed" }, {}, 7, err, 0xffffffff],
  [{ q: "failed, no digest" }, {}, 8, err, undefined],
  [{ q: "ünïcödé ✓ 𝄞", img: "图像" }, { generation: "答案 é" }, 2, undefined, 5],
  [{}, {}, 4, undefined, 9], // no other field: `{<tail>}`
  [{}, {}, 5, undefined, undefined],
  [{ error: "the row's own", a: 1 }, { generation: "x" }, 6, undefined, 11], // rewritten whole
  [{ _async_position: 99, a: 1 }, {}, 9, err, 12],
  [{ q: "x" }, { generation: "y".repeat(10_000) }, 10, undefined, 13],
  [{ q: "zero digest" }, { generation: "z" }, 11, undefined, 0],
];

/** The index a scan of the file builds, as finalize built it before (lineInfoAt on every line). */
async function scanned(file: string): Promise<Map<number, { offset: number; length: number; info: LineInfo }>> {
  const m = new Map<number, { offset: number; length: number; info: LineInfo }>();
  await scanLineRanges(file, (buf, start, end, offset) => {
    const info = lineInfoAt(buf, start, end);
    if (info) m.set(info.position, { offset, length: end - start, info });
  });
  return m;
}

describe("the lines a run writes, known as they are written", () => {
  it("are where a scan of the file finds them, with the tail, status and digest it reads", async () => {
    const file = path.join(await tmp(), "o.jsonl-async");
    await writeFile(file, formatAsyncLine({ earlier: true }, {}, 100, undefined, undefined, 1));
    const sink = await fileSink(file);
    const written = new WrittenLines(sink.startSize);
    expect(sink.startSize).toBeGreaterThan(0);
    for (const [row, out, index, error, digest] of cases) {
      const line = formatAsyncLine(row, out, index, error, undefined, digest);
      written.add(line, index, error, digest);
      await sink.write(line);
    }
    await sink.close();
    const fromScan = await scanned(file);
    expect(written.to).toBe((await readFile(file)).length);
    for (const [, , index] of cases) expect(written.index.get(index), `position ${index}`).toEqual(fromScan.get(index));
    expect(written.index.get(100)).toBeUndefined();
  });

  it("give the digest file a scan would give: hex in position order, dashes for lines without one", () => {
    const index = new LineIndex();
    const info = (position: number, digest: number): LineInfo => ({ position, failed: false, bodyEnd: 1, digest });
    index.set(2, 0, 3, info(2, 0xdeadbeef));
    index.set(0, 4, 3, info(0, 0));
    index.set(5, 8, 3, info(5, -1));
    expect(index.digestLines()?.toString()).toBe("00000000\ndeadbeef\n--------\n");
    // A position from another writer (not a whole number) keeps its place in the order.
    index.set(1.5, 12, 3, info(1.5, 0x0a0b0c0d));
    expect(index.digestLines()?.toString()).toBe("00000000\n0a0b0c0d\ndeadbeef\n--------\n");
    const none = new LineIndex();
    none.set(0, 0, 3, info(0, -1));
    expect(none.digestLines()).toBeNull();
  });
});

describe("finalizing with the run's own lines known", () => {
  /** A resumed run: earlier lines (one failed), then this run's, out of order. */
  async function resumed() {
    const dir = await tmp();
    const paths = outputPaths(path.join(dir, "output.jsonl"));
    const earlier = [
      formatAsyncLine({ i: 1 }, { g: "old-1" }, 1, undefined, undefined, 101),
      formatAsyncLine({ i: 0 }, {}, 0, err, undefined, 100),
      formatAsyncLine({ i: 3 }, { g: "ünï" }, 3, undefined, undefined, 103),
    ];
    await writeFile(paths.async, earlier.join(""));
    const sink = await fileSink(paths.async);
    const written = new WrittenLines(sink.startSize);
    for (const [i, g] of [
      [4, "new-4"],
      [0, "retried-0"],
      [2, "new-2 ✓"],
    ] as const) {
      const line = formatAsyncLine({ i }, { g }, i, undefined, undefined, 100 + i);
      written.add(line, i, undefined, 100 + i);
      await sink.write(line);
    }
    await sink.close();
    return { dir, paths, written };
  }

  it("gives the output and digests of a full scan, reading back only the earlier runs' lines", async () => {
    const a = await resumed();
    const b = await resumed();
    const known = await finalizeOutput(a.paths, a.written);
    const full = await finalizeOutput(b.paths);
    expect(known).toEqual(full);
    expect(known).toEqual({ rows: 5, failed: 0 });
    expect(await readFile(a.paths.output, "utf8")).toBe(await readFile(b.paths.output, "utf8"));
    expect(await readFile(a.paths.digests, "utf8")).toBe(await readFile(b.paths.digests, "utf8"));
    const rows = (await readFile(a.paths.output, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.g)).toEqual(["retried-0", "old-1", "new-2 ✓", "ünï", "new-4"]);
  });

  it("reads the whole file again when another writer added to it", async () => {
    const { paths, written } = await resumed();
    await appendFile(paths.async, formatAsyncLine({ i: 5 }, { g: "outside" }, 5, undefined, undefined, 105));
    expect(await finalizeOutput(paths, written)).toEqual({ rows: 6, failed: 0 });
    const rows = (await readFile(paths.output, "utf8")).trimEnd().split("\n");
    expect(JSON.parse(rows[5]!)).toEqual({ i: 5, g: "outside" });
  });
});

describe("scanning part of a file", () => {
  it("visits only the lines before the end byte; one cut by it is the tail", async () => {
    const file = path.join(await tmp(), "lines");
    await writeFile(file, "aa\nbbb\ncccc\n");
    const seen: string[] = [];
    const r = await scanLineRanges(file, (buf, s, e) => seen.push(buf.toString("utf8", s, e)), 4, 9);
    expect(seen).toEqual(["aa", "bbb"]);
    expect(r).toEqual({ validBytes: 7, tail: Buffer.from("cc") });
  });
});
