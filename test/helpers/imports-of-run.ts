import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot, spawnCli, waitExit } from "./bin.js";
import { makeDataset, tempDir } from "./dataset.js";

const hook = path.join(repoRoot, "test", "helpers", "trace-imports.mjs");

/**
 * What a `generate` run of the built CLI imported (bare packages and `node:` builtins, through
 * trace-imports.mjs): `input` against the server at `url`, with `args` added and `env` over
 * the environment (NO_PROXY cleared). The run must succeed.
 */
export async function importsOfGenerate(o: {
  dir: string;
  name: string;
  input: string;
  url: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<Set<string>> {
  const trace = path.join(o.dir, `${o.name}.imports`);
  await writeFile(trace, "");
  const child = spawnCli(
    [
      "generate",
      "--input_file",
      o.input,
      "--output_file",
      path.join(o.dir, `${o.name}.jsonl`),
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_address",
      `${o.url}/v1`,
      "--quiet",
      ...(o.args ?? []),
    ],
    { env: { NODE_OPTIONS: `--import=${hook}`, TRACE_IMPORTS: trace, NO_PROXY: "", no_proxy: "", ...o.env } },
  );
  const r = await waitExit(child);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return new Set((await readFile(trace, "utf8")).split("\n").filter(Boolean));
}

/**
 * importsOfGenerate over three image rows against a simulator, both set up before the calling
 * file's tests and the simulator closed after them: `(name, { args, env })` traces one run.
 */
export function tracedGenerateRuns(): (
  name: string,
  more?: { args?: string[]; env?: NodeJS.ProcessEnv },
) => Promise<Set<string>> {
  let sim: SimServer | undefined;
  let dir = "";
  let input = "";
  beforeAll(async () => {
    dir = await tempDir();
    const data = await makeDataset(dir, 3, { images: true });
    input = data.file;
    sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 1 });
  });
  afterAll(async () => {
    await sim?.close();
  });
  return (name, more = {}) => importsOfGenerate({ dir, name, input, url: sim!.url, ...more });
}
