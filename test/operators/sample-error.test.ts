import { describe, expect, it } from "vitest";
import { ErrorCodes, VlmError } from "../../src/errors.js";
import { withError } from "../../src/operators/sample-error.js";
import { formatAsyncLine, lineInfoAt } from "../../src/output/async-lines.js";

describe("a failed row's error record", () => {
  it("keeps its message under 2,000 bytes as written, whatever its characters, so resume sees the failure", () => {
    for (const ch of ["x", "\u00e9", "\u4e2d", "\u0001", "\ud83d\ude00", '"']) {
      const e = new VlmError(ErrorCodes.HTTP, `HTTP 500: ${ch.repeat(5000)}`);
      const s = withError({ index: 7, row: { problem: "p" }, out: {} }, "generate", e);
      const message = s.error!.message;
      expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(2000 + 3);
      expect(message.endsWith("...")).toBe(true);
      // No half of a surrogate pair left at the cut.
      expect(Buffer.from(message, "utf8").toString("utf8")).toBe(message);
      const line = Buffer.from(formatAsyncLine(s.row, s.out, s.index, s.error));
      expect(lineInfoAt(line, 0, line.length)).toMatchObject({ position: 7, failed: true });
    }
    const short = withError({ index: 0, row: {}, out: {} }, "generate", new Error("\u0001".repeat(300)));
    expect(short.error!.message).toBe("\u0001".repeat(300));
  });
});
