import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { tempDir } from "../helpers/dataset.js";

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    if ((await stat(p)).isDirectory()) out.push(...(await allFiles(p)));
    else out.push(p);
  }
  return out;
}

describe("secrets", () => {
  it.each([
    ["--api_key", (key: string) => ({ args: ["--api_key", key], env: {} })],
    ["OPENAI_API_KEY", (key: string) => ({ args: [], env: { OPENAI_API_KEY: key } })],
  ])("a key given by %s appears in no output file, log or message", async (_how, given) => {
    const key = `sk-test-${Math.random().toString(36).slice(2)}-SECRET`;
    const out = await tempDir();
    const { args, env } = given(key);
    const r = await waitExit(
      spawnCli(
        [
          "eval",
          "--benchmarks",
          "mmmu-pro",
          "--model",
          "sim",
          "--server_type",
          "sim",
          "--data_dir",
          path.join(repoRoot, "fixtures", "data"),
          "--output_dir",
          out,
          "++max_samples=5",
          "--progress_seconds",
          "0.1",
          ...args,
        ],
        { env },
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    const files = await allFiles(out);
    expect(files.some((f) => f.endsWith("output.jsonl"))).toBe(true);
    expect(files.some((f) => f.endsWith(".log"))).toBe(true);
    for (const f of files) expect(await readFile(f, "utf8"), f).not.toContain("SECRET");
    expect(r.stdout).not.toContain("SECRET");
    expect(r.stderr).not.toContain("SECRET");
  });
});
