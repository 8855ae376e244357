import { appendFile, copyFile, mkdir, mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatAsyncLine } from "../../src/output/async-lines.js";
import { InOrderCopy } from "../../src/output/in-order-copy.js";
import { exists, finalizeOutput, outputPaths } from "../../src/output/partial-output.js";

type Line = { position: number; text: string };

/** Row i's async line: a failed row every 7th, a digest unless `digests` is false. */
function line(i: number, digests = true): Line {
  const error = i % 7 === 3 ? { stage: "generate", code: "VLM_E_HTTP", message: `HTTP 500 (${i})` } : undefined;
  const row = { id: `q${i}`, problem: `Question ${i}: ünïcode and "quotes"` };
  const out = error ? {} : { generation: `Answer: ${"ABCD"[i % 4]}`, num_generated_tokens: i };
  return {
    position: i,
    text: formatAsyncLine(row, out, i, error, undefined, digests ? (i * 2654435761) >>> 0 : undefined),
  };
}

/** 0..n-1 in a completion order: each one late by up to `spread` places, as rows in flight finish. */
function completionOrder(n: number, spread: number): number[] {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, (_, i) => ({ i, at: i + rnd() * spread }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.i);
}

/**
 * Writes the lines to a fresh output's async file in batches of `batch`, feeding each batch
 * to an InOrderCopy as the run's file sink does; then finalizes with it, and finalizes a copy
 * of the same async file the old way (a pass over it). Returns both outputs' files.
 */
async function bothWays(lines: Line[], opts: { batch?: number; maxHeldBytes?: number } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-inorder-"));
  await mkdir(path.join(dir, "a"));
  await mkdir(path.join(dir, "b"));
  const paths = outputPaths(path.join(dir, "a", "out.jsonl"));
  const plain = outputPaths(path.join(dir, "b", "out.jsonl"));
  const copy = await InOrderCopy.open(paths, opts.maxHeldBytes);
  const size = opts.batch ?? 5;
  for (let k = 0; k < lines.length; k += size) {
    const bytes = Buffer.from(
      lines
        .slice(k, k + size)
        .map((l) => l.text)
        .join(""),
    );
    await appendFile(paths.async, bytes);
    await copy.take(bytes);
  }
  const intact = copy.intact;
  await copyFile(paths.async, plain.async);
  const counts = await finalizeOutput(paths, copy);
  const plainCounts = await finalizeOutput(plain);
  const read = async (f: string) => ((await exists(f)) ? readFile(f, "utf8") : null);
  return {
    intact,
    counts,
    plainCounts,
    output: await read(paths.output),
    plainOutput: await read(plain.output),
    digests: await read(paths.digests),
    plainDigests: await read(plain.digests),
    files: (await readdir(path.join(dir, "a"))).sort(),
  };
}

describe("InOrderCopy: the output put in order during a fresh run", () => {
  it("makes the very bytes finalize makes, digests included, from lines finishing out of order", async () => {
    const n = 500;
    const r = await bothWays(completionOrder(n, 64).map((i) => line(i)));
    expect(r.intact).toBe(true);
    expect(r.output).toBe(r.plainOutput);
    expect(r.digests).toBe(r.plainDigests);
    expect(r.counts).toEqual(r.plainCounts);
    expect(r.counts).toEqual({ rows: n, failed: Math.floor((n - 4) / 7) + 1 });
    expect(r.output?.split("\n")[0]).toBe(
      `${JSON.stringify({ id: "q0", problem: 'Question 0: ünïcode and "quotes"', generation: "Answer: A", num_generated_tokens: 0 })}`,
    );
    // The finished output's files and nothing else: no temporaries, no async file.
    expect(r.files).toEqual(["out.jsonl", "out.jsonl.done", "out.jsonl.row-digests"]);
  });

  it("puts its copy in place without a pass over the async file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-inorder-"));
    const paths = outputPaths(path.join(dir, "out.jsonl"));
    const copy = await InOrderCopy.open(paths);
    const bytes = Buffer.from([2, 0, 1].map((i) => line(i).text).join(""));
    await appendFile(paths.async, bytes);
    await copy.take(bytes);
    // Were the async file read, finalize would put this line in the output instead.
    await appendFile(paths.async, formatAsyncLine({ id: "not copied" }, {}, 3));
    expect(await finalizeOutput(paths, copy)).toEqual({ rows: 3, failed: 0 });
    expect((await readFile(paths.output, "utf8")).split("\n").map((l) => l && JSON.parse(l).id)).toEqual([
      "q0",
      "q1",
      "q2",
      "",
    ]);
    expect(await exists(paths.async)).toBe(false);
  });

  it("leaves out the row digests' file when no line has a digest, as finalize does", async () => {
    const r = await bothWays(completionOrder(50, 8).map((i) => line(i, false)));
    expect(r.intact).toBe(true);
    expect(r.output).toBe(r.plainOutput);
    expect(r.digests).toBeNull();
    expect(r.plainDigests).toBeNull();
    expect(r.files).toEqual(["out.jsonl", "out.jsonl.done"]);
  });

  it("gives up on a position written twice, and finalize keeps the last line of it", async () => {
    const lines = completionOrder(40, 8).map((i) => line(i));
    // Row 3 failed, then its retry succeeded later in the same file.
    const retry = { position: 3, text: formatAsyncLine({ id: "q3" }, { generation: "again" }, 3) };
    const r = await bothWays([...lines, retry]);
    expect(r.intact).toBe(false);
    expect(r.output).toBe(r.plainOutput);
    expect(r.output?.split("\n")[3]).toBe('{"id":"q3","generation":"again"}');
    expect(r.files).toEqual(["out.jsonl", "out.jsonl.done", "out.jsonl.row-digests"]);
  });

  it("gives up when more than its bound is held back behind a slow row, and finalize does the work", async () => {
    const order = completionOrder(300, 4).filter((i) => i !== 0);
    const lines = [...order, 0].map((i) => line(i));
    const held = await bothWays(lines, { maxHeldBytes: 4096 });
    expect(held.intact).toBe(false);
    expect(held.output).toBe(held.plainOutput);
    expect(held.digests).toBe(held.plainDigests);
    // Under a bound that holds them all, the same lines are copied.
    const kept = await bothWays(lines);
    expect(kept.intact).toBe(true);
    expect(kept.output).toBe(held.output);
  });

  it("counts against its bound the memory a held line keeps alive, not just the line", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-inorder-"));
    const copy = await InOrderCopy.open(outputPaths(path.join(dir, "out.jsonl")), 64 * 1024);
    // 20 short lines, each a view of its own 8 KB buffer (as node's pool hands out small ones):
    // 2 KB of lines, 160 KB kept alive while row 0 is missing.
    for (let i = 1; i <= 20; i++) {
      const text = Buffer.from(line(i).text);
      const own = Buffer.alloc(8192);
      text.copy(own);
      await copy.take(own.subarray(0, text.length));
    }
    expect(copy.intact).toBe(false);
    await copy.discard();
  });

  it("is not used when a position never came (a gap), nor for a line that is not ours", async () => {
    // A gap below rows done: no output either way (line i must be row i), the async file kept.
    const gap = await bothWays([0, 2, 3].map((i) => line(i)));
    expect(gap.intact).toBe(true);
    expect(gap.counts).toEqual({ rows: 0, failed: 0, gapAt: 1 });
    expect(gap.plainCounts).toEqual({ rows: 0, failed: 0, gapAt: 1 });
    expect(gap.output).toBeNull();
    expect(gap.plainOutput).toBeNull();
    expect(gap.files).toContain("out.jsonl-async");
    expect(gap.files).not.toContain("out.jsonl.done");
    const foreign = await bothWays([line(0), { position: -1, text: '{"a":1}\n' }, line(1)]);
    expect(foreign.intact).toBe(false);
    expect(foreign.output).toBe(foreign.plainOutput);
    expect(foreign.files).toEqual(["out.jsonl", "out.jsonl.done", "out.jsonl.row-digests"]);
  });

  it("removes its temporary files when the run does not finish", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-inorder-"));
    const paths = outputPaths(path.join(dir, "out.jsonl"));
    const copy = await InOrderCopy.open(paths);
    const bytes = Buffer.from(line(0).text + line(1).text);
    await appendFile(paths.async, bytes);
    await copy.take(bytes);
    expect((await readdir(dir)).some((f) => f.includes(".tmp-"))).toBe(true);
    await copy.discard();
    expect(await readdir(dir)).toEqual(["out.jsonl-async"]);
  });
});
