import { type FileHandle, mkdtemp, open, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fileSink } from "../../src/output/sinks.js";

describe("fileSink", () => {
  it("writes every line whole and in call order, lines arriving together sharing a write", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "sink-")), "out.jsonl");
    const sink = await fileSink(file);
    const lines = Array.from({ length: 500 }, (_, i) => `{"i":${i}}\n`);
    const first = lines.slice(0, 200).map((l) => sink.write(l));
    // (the same turn of the event loop: one batch, one promise)
    expect(new Set(first).size).toBe(1);
    await Promise.all(first);
    // Lines that come while a write is under way, and one at a time.
    const rest: Promise<void>[] = [];
    for (const l of lines.slice(200, 400)) rest.push(sink.write(l));
    for (const l of lines.slice(400)) await sink.write(l);
    await Promise.all(rest);
    await sink.close();
    expect(await readFile(file, "utf8")).toBe(lines.join(""));
  });

  it("goes on writing lines while a flush to disk is under way", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "sink-")), "out.jsonl");
    // The real file, whose flush (a slow disk's, here one that waits for the test) is held
    // until the lines written after it began are in.
    let flushBegan!: () => void;
    const began = new Promise<void>((r) => {
      flushBegan = r;
    });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let flushes = 0;
    const slowFlush = async (p: string): Promise<FileHandle> => {
      const fh = await open(p, "a");
      const datasync = fh.datasync.bind(fh);
      fh.datasync = async () => {
        flushes++;
        flushBegan();
        await released;
        return datasync();
      };
      return fh;
    };
    const sink = await fileSink(file, 10, slowFlush);
    await sink.write("a\n");
    await began;
    // Were writes queued behind the flush, these would never be in and the test would hang.
    await Promise.all(["b\n", "c\n"].map((l) => sink.write(l)));
    await sink.write("d\n");
    expect(await readFile(file, "utf8")).toBe("a\nb\nc\nd\n");
    expect(flushes).toBe(1);
    release();
    await sink.close();
    expect(await readFile(file, "utf8")).toBe("a\nb\nc\nd\n");
    // The flush on close too.
    expect(flushes).toBeGreaterThanOrEqual(2);
  });

  it("fails the lines of a write that fails, and every write after it", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "sink-")), "out.jsonl");
    const sink = await fileSink(file);
    await sink.write("a\n");
    // A full disk is hard to make in a test; a closed descriptor fails the same way.
    await sink.close();
    const failed = [sink.write("b\n"), sink.write("c\n")];
    for (const p of failed) await expect(p).rejects.toThrow();
    await expect(sink.write("d\n")).rejects.toThrow();
    expect(await readFile(file, "utf8")).toBe("a\n");
  });
});
