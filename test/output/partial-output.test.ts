import { appendFile, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatAsyncLine, readLineInfo } from "../../src/output/async-lines.js";
import {
  exists,
  finalizeOutput,
  outputPaths,
  readPartial,
  removeStaleTemporaries,
  reopenFinished,
} from "../../src/output/partial-output.js";
import { checkSameRun, type RunSpec } from "../../src/output/run-spec.js";

async function tmp() {
  return mkdtemp(path.join(tmpdir(), "vlmpipe-out-"));
}

describe("the partial output file", () => {
  it("removes what a finalize, merge, reopen or in-flight log compaction killed half-way left: their temporary files", async () => {
    const dir = await tmp();
    const out = path.join(dir, "output.jsonl");
    const left = [
      "output.jsonl.tmp-123",
      "output.jsonl.row-digests.tmp-456",
      "output.jsonl.tmp-merge-77",
      "output.jsonl.spec.json.tmp-88",
      "output.jsonl-async.tmp",
      "output.jsonl.inflight.tmp",
    ];
    const kept = [
      "output.jsonl-async",
      "output.jsonl.spec.json",
      "output.jsonl.inflight",
      "other.jsonl.tmp-789",
      "other.jsonl-async.tmp",
    ];
    for (const f of [...left, ...kept]) await writeFile(path.join(dir, f), "x");
    await removeStaleTemporaries(outputPaths(out));
    expect((await readdir(dir)).sort()).toEqual([...kept].sort());
  });

  it("reads position and status from a line's tail, even with a huge generation", () => {
    const ok = Buffer.from(formatAsyncLine({ q: "x" }, { generation: "y".repeat(100_000) }, 42).trimEnd());
    expect(readLineInfo(ok)).toMatchObject({ position: 42, failed: false });
    const bad = Buffer.from(
      formatAsyncLine({ q: "x" }, {}, 7, { stage: "generate", code: "VLM_E_HTTP", message: "HTTP 500" }).trimEnd(),
    );
    expect(readLineInfo(bad)).toMatchObject({ position: 7, failed: true });
    // A row whose own fields include "error" and "_async_position": its error is data and stays
    // (not a failure), the position is ours.
    const own = formatAsyncLine({ error: "old", _async_position: 1, a: 1 }, {}, 3);
    expect(own).toBe('{"error":"old","a":1,"_async_position":3}\n');
    expect(readLineInfo(Buffer.from(own.trimEnd()))).toMatchObject({ position: 3, failed: false });
    const ownObject = formatAsyncLine({ a: 1, error: { stage: 1 } }, {}, 4);
    expect(readLineInfo(Buffer.from(ownObject.trimEnd()))).toMatchObject({ position: 4, failed: false });
    expect(readLineInfo(Buffer.from('{"_async_position":5}'))).toMatchObject({ position: 5 });
    expect(readLineInfo(Buffer.from('{"a":1,"_async_pos'))).toBeNull();
  });

  it("drops a torn last line on resume and cuts it off the file", async () => {
    const dir = await tmp();
    const file = path.join(dir, "out.jsonl-async");
    await writeFile(
      file,
      formatAsyncLine({ a: 0 }, {}, 0) + formatAsyncLine({ a: 2 }, {}, 2) + '{"a":1,"generation":"hal',
    );
    const st = await readPartial(file);
    expect([...st.done].sort()).toEqual([0, 2]);
    expect(st.tornBytes).toBeGreaterThan(0);
    const text = await readFile(file, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("counts a failed row as not done, and a later success for it as done", async () => {
    const dir = await tmp();
    const file = path.join(dir, "o-async");
    const err = { stage: "generate", code: "VLM_E_HTTP", message: "x" };
    await writeFile(file, formatAsyncLine({}, {}, 0, err) + formatAsyncLine({}, {}, 1, err));
    await appendFile(file, formatAsyncLine({ a: 1 }, { generation: "ok" }, 1));
    const st = await readPartial(file);
    expect([...st.done]).toEqual([1]);
    expect([...st.failed]).toEqual([0]);
  });

  it("puts lines back in input order, the last line of a position winning, and marks it done", async () => {
    const dir = await tmp();
    const paths = outputPaths(path.join(dir, "output.jsonl"));
    const err = { stage: "generate", code: "VLM_E_HTTP", message: "x" };
    await writeFile(
      paths.async,
      formatAsyncLine({ i: 2 }, { g: "c" }, 2) +
        formatAsyncLine({ i: 0 }, {}, 0, err) +
        formatAsyncLine({ i: 1 }, { g: "b" }, 1) +
        formatAsyncLine({ i: 0 }, { g: "a" }, 0),
    );
    const r = await finalizeOutput(paths);
    expect(r).toEqual({ rows: 3, failed: 0 });
    const lines = (await readFile(paths.output, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { i: 0, g: "a" },
      { i: 1, g: "b" },
      { i: 2, g: "c" },
    ]);
    expect(await exists(paths.done)).toBe(true);
    expect(await exists(paths.async)).toBe(false);
  });

  it("reopens a finished output that has failed rows so a rerun retries them", async () => {
    const dir = await tmp();
    const paths = outputPaths(path.join(dir, "output.jsonl"));
    await writeFile(
      paths.output,
      '{"i":0,"g":"a"}\n{"i":1,"error":{"stage":"generate","code":"VLM_E_HTTP","message":"x"}}\n',
    );
    await writeFile(paths.done, "");
    expect(await reopenFinished(paths)).toBe(true);
    const st = await readPartial(paths.async);
    expect([...st.done]).toEqual([0]);
    expect([...st.failed]).toEqual([1]);
    expect(await exists(paths.done)).toBe(false);
  });

  it("keeps the reopened rows' bytes where they read as its own lines, and rewrites the others", async () => {
    const dir = await tmp();
    const paths = outputPaths(path.join(dir, "output.jsonl"));
    const error = '{"stage":"generate","code":"VLM_E_HTTP","message":"x"}';
    const lines = [
      '{"id": 12345678901234567890, "w": 1.0, "generation":"a"}',
      `{"id": 2.50,"error":${error}}`,
      `{"error":${error}, "id": 3.0}`, // the error not last: rewritten, with it last
      '{"id": 4.0, "error": null}', // not a failure: the row's own field, kept
      '{"id": 5, "error": "label noise", "w": 1}', // the same
      "{}",
    ];
    await writeFile(paths.output, lines.join("\n") + "\n");
    await writeFile(paths.done, "");
    expect(await reopenFinished(paths)).toBe(true);
    const reopened = (await readFile(paths.async, "utf8")).split("\n").slice(0, -1);
    expect(reopened.slice(0, 2)).toEqual([
      '{"id": 12345678901234567890, "w": 1.0, "generation":"a","_async_position":0}',
      `{"id": 2.50,"error":${error},"_async_position":1}`,
    ]);
    expect(reopened.slice(2)).toEqual([
      `{"id":3,"error":${error},"_async_position":2}`,
      '{"id": 4.0, "error": null,"_async_position":3}',
      '{"id": 5, "error": "label noise", "w": 1,"_async_position":4}',
      '{"_async_position":5}',
    ]);
    const st = await readPartial(paths.async);
    expect([...st.done].sort()).toEqual([0, 3, 4, 5]);
    expect([...st.failed].sort()).toEqual([1, 2]);
  });

  it("refuses to resume with a different model or inference settings, saying what differs", () => {
    const spec: RunSpec = {
      vlmpipe_version: "0",
      model: "a",
      prompt_config: "p",
      prompt_hash: "h",
      inference: { temperature: 0 },
      generation: {},
      input_file: "i",
      created: "",
    };
    expect(() => checkSameRun(spec, { ...spec, created: "later" }, "o")).not.toThrow();
    // An older spec that kept the image cache settings still matches (they change nothing sent).
    const withImage = { ...spec, generation: { ...spec.generation, image: { encode: "keep" } } };
    const older = {
      ...spec,
      generation: { ...spec.generation, image: { encode: "keep", cache_bytes: 1024, cache_dir: null } },
    };
    expect(() => checkSameRun(older, withImage, "o")).not.toThrow();
    expect(() =>
      checkSameRun(older, { ...withImage, generation: { ...withImage.generation, image: { encode: "png" } } }, "o"),
    ).toThrow(/generation/);
    expect(() => checkSameRun(spec, { ...spec, model: "b", inference: { temperature: 0.7 } }, "o.jsonl")).toThrow(
      /o\.jsonl holds rows of a different run[\s\S]*model: was "a", now "b"\n {2}inference\.temperature: was 0, now 0\.7\n[\s\S]*--overwrite/,
    );
  });
});

describe("finalizing a large partial file", () => {
  it("puts lines written far out of order back in input order across read windows", async () => {
    const dir = await tmp();
    const paths = outputPaths(path.join(dir, "big.jsonl"));
    const n = 3000;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ((a * 7919) % n) - ((b * 7919) % n));
    const pad = "x".repeat(5000); // ~15 MB: many 1 MB windows and write buffers
    await writeFile(paths.async, order.map((i) => formatAsyncLine({ i }, { generation: pad }, i)).join(""));
    expect(await finalizeOutput(paths)).toEqual({ rows: n, failed: 0 });
    const lines = (await readFile(paths.output, "utf8")).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("keeps lines larger than its read and write buffers whole, next to small ones", async () => {
    const dir = await tmp();
    const paths = outputPaths(path.join(dir, "huge.jsonl"));
    const huge = "y".repeat(3 << 20); // a 3 MB generation: larger than the 1 MB buffers
    const lines = [
      formatAsyncLine({ i: 2 }, { generation: "small" }, 2),
      formatAsyncLine({ i: 0 }, { generation: huge }, 0),
      // Written by another tool: the position key first, so the fast path does not apply.
      `{"_async_position":1,"i":1,"generation":"other"}\n`,
      formatAsyncLine({ i: 3 }, { generation: huge }, 3),
    ];
    await writeFile(paths.async, lines.join(""));
    expect(await finalizeOutput(paths)).toEqual({ rows: 4, failed: 0 });
    const out = (await readFile(paths.output, "utf8")).split("\n");
    expect(out.pop()).toBe("");
    expect(out.map((l) => JSON.parse(l))).toEqual([
      { i: 0, generation: huge },
      { i: 1, generation: "other" },
      { i: 2, generation: "small" },
      { i: 3, generation: huge },
    ]);
  });
});
