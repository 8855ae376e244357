import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../src/errors.js";
import { repoRoot } from "./helpers/bin.js";

describe("docs/errors.md", () => {
  it("documents every error code once, and no code that does not exist", async () => {
    const text = await readFile(path.join(repoRoot, "docs", "errors.md"), "utf8");
    // The first cell of each table row: | `VLM_E_...` | meaning | retried | what to do |
    const rows = [...text.matchAll(/^\| `(VLM_E_[A-Z_]+)` \|(.*)$/gm)];
    const documented = rows.map((m) => m[1]);
    expect([...documented].sort()).toEqual(Object.values(ErrorCodes).sort());
    for (const m of rows) expect(m[2]?.split(" | ").filter((cell) => cell.trim() !== "")).toHaveLength(3);
  });
});
