import { mkdtemp, open, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ChunkWriter } from "../../src/output/chunk-writer.js";

describe("ChunkWriter", () => {
  it("writes pieces smaller and larger than its buffer, in order, and only awaits when full", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "vlmpipe-cw-")), "out");
    const fh = await open(file, "w");
    const w = new ChunkWriter(fh, 8);
    const pieces = ["abc", "defgh", "i", "0123456789abcdef", "jk", "", "lmnopqr", "s"];
    const awaited: boolean[] = [];
    for (const p of pieces) {
      const full = w.put(Buffer.from(p));
      awaited.push(full !== undefined);
      if (full) await full;
    }
    await w.flush();
    await fh.close();
    expect(await readFile(file, "utf8")).toBe(pieces.join(""));
    // "abc"+"defgh" fill the 8 bytes; "i" needs a write first; the 16-byte piece goes straight out.
    expect(awaited).toEqual([false, false, true, true, false, false, true, false]);
  });
});
