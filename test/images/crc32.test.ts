import { describe, expect, it } from "vitest";
import { crc32, tableCrc32 } from "../../src/images/crc32.js";

// The table is what Node before 20.15 (no zlib.crc32) uses: it must agree with zlib's.
describe("crc32", () => {
  it("gives the table's and the check value's answers", () => {
    const check = Buffer.from("123456789");
    expect(tableCrc32(check, 0, 9)).toBe(0xcbf43926);
    expect(crc32(check, 0, 9)).toBe(0xcbf43926);
    const b = Buffer.alloc(5000);
    for (let i = 0; i < b.length; i++) b[i] = (i * 131 + (i >> 3)) & 0xff;
    for (const [from, to] of [
      [0, 5000],
      [17, 4000],
      [100, 100],
    ] as const)
      expect(tableCrc32(b, from, to)).toBe(crc32(b, from, to));
  });
});
