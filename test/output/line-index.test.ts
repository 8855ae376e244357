import { describe, expect, it } from "vitest";
import type { LineInfo } from "../../src/output/async-lines.js";
import { LineIndex } from "../../src/output/line-index.js";

const info = (position: number, digest: number): LineInfo => ({ position, failed: false, bodyEnd: 1, digest });

describe("the line index of an async file", () => {
  it("gives the row digests file: hex in position order, dashes for lines without one", () => {
    const index = new LineIndex();
    index.set(2, 0, 3, info(2, 0xdeadbeef));
    index.set(0, 4, 3, info(0, 0));
    index.set(5, 8, 3, info(5, -1));
    index.set(2, 12, 3, info(2, 0x12345678)); // a later line of a position wins
    expect(index.digestLines()?.toString()).toBe("00000000\n12345678\n--------\n");
    // A position from another writer (not a whole number) keeps its place in the order.
    index.set(1.5, 16, 3, info(1.5, 0x0a0b0c0d));
    expect(index.digestLines()?.toString()).toBe("00000000\n0a0b0c0d\n12345678\n--------\n");
  });

  it("gives no digests file when no line has a digest", () => {
    const index = new LineIndex();
    index.set(0, 0, 3, info(0, -1));
    index.set(3, 4, 3, info(3, -1));
    expect(index.digestLines()).toBeNull();
  });
});
