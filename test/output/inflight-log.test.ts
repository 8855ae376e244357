import { appendFile, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type Delta, InflightLog } from "../../src/output/inflight-log.js";
import { tempDir } from "../helpers/dataset.js";

const delta = (
  index: number,
  from: [number, number],
  content: string,
  reasoning = "",
  tokens = 1,
  digest = "d1",
): Delta => ({
  index,
  digest,
  contentFrom: from[0],
  reasoningFrom: from[1],
  content,
  reasoning,
  tokens,
});

describe("the in-flight log", () => {
  it("keeps each row's text across appends and reopens, and drops rows already finished", async () => {
    const file = path.join(await tempDir(), "out.jsonl.inflight");
    const log = await InflightLog.open(file);
    await log.append([delta(0, [0, 0], "Hello", "hm", 3), delta(1, [0, 0], "Other", "", 2)]);
    await log.append([{ ...delta(0, [5, 2], " world", "", 2), continuedAt: [3] }]);
    await log.close();
    const again = await InflightLog.open(file, (i) => i === 1);
    expect(again.take(0)).toEqual({
      digest: "d1",
      content: "Hello world",
      reasoning: "hm",
      tokens: 5,
      continuedAt: [3],
    });
    expect(again.take(1)).toBeUndefined();
    await again.close();
  });

  it("ignores a torn last record and a record whose checksum does not match", async () => {
    const file = path.join(await tempDir(), "out.jsonl.inflight");
    const log = await InflightLog.open(file);
    await log.append([delta(0, [0, 0], "abc"), delta(2, [0, 0], "xyz")]);
    await log.close();
    const text = await readFile(file, "utf8");
    // A record with its text changed after its checksum was taken, then a torn one.
    const forged = text.split("\n")[1]!.replace("xyz", "xyw");
    await writeFile(file, `${text.split("\n")[0]}\n${forged}\n`);
    await appendFile(file, '{"i":0,"d":"d1","c0":3,"r0":0,"c":"de');
    const again = await InflightLog.open(file);
    expect(again.ignoredRecords).toBe(1);
    expect(again.take(0)?.content).toBe("abc");
    expect(again.take(2)).toBeUndefined();
    await again.close();
    // Opening rewrote it compacted: no torn tail left behind.
    expect((await readFile(file, "utf8")).endsWith("\n")).toBe(true);
  });

  it("refuses a delta that does not start where the row's text ends, and a drop forgets the row", async () => {
    const file = path.join(await tempDir(), "out.jsonl.inflight");
    const log = await InflightLog.open(file);
    await log.append([delta(0, [0, 0], "abc"), delta(1, [0, 0], "keep")]);
    await log.append([delta(0, [7, 0], "gap")]);
    expect(log.take(0)).toBeUndefined();
    await log.append([], [1]);
    expect(log.take(1)).toBeUndefined();
    expect(log.size).toBe(0);
    await log.close();
    // No row left: the file is gone.
    await expect(stat(file)).rejects.toThrow();
  });

  it("replaces a row's text saved under another request's digest", async () => {
    const file = path.join(await tempDir(), "out.jsonl.inflight");
    const log = await InflightLog.open(file);
    await log.append([delta(0, [0, 0], "old text", "", 5, "A")]);
    await log.append([delta(0, [0, 0], "new", "", 1, "B")]);
    await log.close();
    const again = await InflightLog.open(file);
    expect(again.take(0)).toMatchObject({ digest: "B", content: "new", tokens: 1 });
    // Taken once: the row holds its text from then on.
    expect(again.take(0)).toBeUndefined();
    await again.close();
  });
});
