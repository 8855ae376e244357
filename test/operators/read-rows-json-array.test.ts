import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonArrayInput } from "../../src/cli/json-array-input.js";
import { readRows } from "../../src/operators/read-rows.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vlmpipe-json-array-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rowsOf(text: string): Promise<unknown[]> {
  const file = path.join(dir, "output.json");
  await writeFile(file, text);
  const array = await jsonArrayInput(file);
  if (!array) throw new Error("not read as an array");
  return (await lastValueFrom(readRows(array).pipe(toArray()))).map((s) => s.row);
}

describe("readRows over a JSON array file (jsonArrayInput)", () => {
  it("reads a JSON array of rows, with or without a UTF-8 BOM (as Windows editors save it)", async () => {
    const text = '[\r\n  {"id": "a", "response": "B"},\r\n  {"id": "b", "response": "C"}\r\n]\r\n';
    const want = [
      { id: "a", response: "B" },
      { id: "b", response: "C" },
    ];
    expect(await rowsOf(text)).toEqual(want);
    expect(await rowsOf(`\uFEFF${text}`)).toEqual(want);
  });

  it("leaves a JSONL file, BOM or not, to be read as JSONL", async () => {
    const file = path.join(dir, "rows.jsonl");
    await writeFile(file, '\uFEFF{"a": 1}\n');
    expect(await jsonArrayInput(file)).toBeNull();
  });
});
