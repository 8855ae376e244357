import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { makeDataset, tempDir } from "../helpers/dataset.js";
import { loggingProxy } from "../helpers/logging-proxy.js";

// undici is loaded on first use (src/net/undici.ts): a run against a plain-http server with
// no proxy sends everything on vlmpipe's own pool and node:http, and never pays for undici
// (~0.4 s of CPU and ~55 MB a process). A proxied run still uses it.

const hook = path.join(repoRoot, "test", "helpers", "trace-imports.mjs");
let sim: SimServer;
let dir: string;
let input: string;

beforeAll(async () => {
  dir = await tempDir();
  const data = await makeDataset(dir, 3, { images: true });
  input = data.file;
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 1 });
});
afterAll(async () => {
  await sim?.close();
});

async function packagesImported(name: string, env: NodeJS.ProcessEnv) {
  const trace = path.join(dir, `${name}.imports`);
  await writeFile(trace, "");
  const child = spawnCli(
    [
      "generate",
      "--input_file",
      input,
      "--output_file",
      path.join(dir, `${name}.jsonl`),
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_address",
      `${sim.url}/v1`,
      "--quiet",
    ],
    { env: { NODE_OPTIONS: `--import=${hook}`, TRACE_IMPORTS: trace, NO_PROXY: "", no_proxy: "", ...env } },
  );
  const r = await waitExit(child);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return new Set((await readFile(trace, "utf8")).split("\n").filter(Boolean));
}

describe("undici on demand", () => {
  it("is not loaded by a plain-http run with image rows, and is by a proxied one", async () => {
    const direct = await packagesImported("direct", { HTTP_PROXY: "", http_proxy: "", ALL_PROXY: "", all_proxy: "" });
    expect(direct.has("node:net")).toBe(true); // the trace works (the own pool's sockets)
    expect(direct.has("undici")).toBe(false);
    const proxy = await loggingProxy();
    try {
      const proxied = await packagesImported("proxied", { HTTP_PROXY: proxy.url });
      expect(proxied.has("undici")).toBe(true);
      expect(proxy.log.map((e) => e.method)).toContain("POST");
    } finally {
      proxy.close();
    }
  });
});
