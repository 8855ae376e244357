import { describe, expect, it } from "vitest";
import { digestAt, digestHex, RowDigests, rowDigest } from "../../src/output/row-digest.js";

const digest = (s: string) => {
  const b = Buffer.from(s);
  return rowDigest(b, 0, b.length);
};

describe("rowDigest", () => {
  it("is MurmurHash3 x86_32 with seed 0 (published test values)", () => {
    expect(digest("")).toBe(0);
    expect(digest("a")).toBe(0x3c2569b2);
    expect(digest("abc")).toBe(0xb3dd93fa);
    expect(digest("Hello, world!")).toBe(0xc0363e43);
    expect(digest("The quick brown fox jumps over the lazy dog")).toBe(0x2e4ff723);
  });

  it("hashes a range of a larger buffer as the bytes alone, a CRLF line as its LF twin", () => {
    const b = Buffer.from('xx{"id":"q1"}\r\nyy');
    expect(rowDigest(b, 2, 14)).toBe(digest('{"id":"q1"}'));
  });

  it("tells one changed byte, two swapped rows and a longer line apart", () => {
    const a = digest('{"id":"q1","expected_answer":"B"}');
    expect(digest('{"id":"q1","expected_answer":"C"}')).not.toBe(a);
    expect(digest('{"id":"q1","expected_answer":"B"} ')).not.toBe(a);
    expect(digest('{"id":"q2","expected_answer":"B"}')).not.toBe(a);
  });

  it("reads back what it writes as hex, and keeps digests by position", () => {
    for (const d of [0, 1, 0xdeadbeef, 0xffffffff]) expect(digestAt(Buffer.from(digestHex(d)), 0)).toBe(d);
    expect(digestAt(Buffer.from("0000000g"), 0)).toBe(-1);
    const m = new RowDigests();
    m.set(5000, 7);
    m.set(3, 0);
    expect([m.get(5000), m.get(3), m.get(4), m.get(1e9), m.last]).toEqual([7, 0, -1, -1, 5000]);
  });
});
