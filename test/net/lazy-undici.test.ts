import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { makeDataset, tempDir } from "../helpers/dataset.js";
import { importsOfGenerate } from "../helpers/imports-of-run.js";
import { loggingProxy } from "../helpers/logging-proxy.js";

// undici is loaded on first use (src/net/undici.ts): a run against a plain-http server with
// no proxy sends everything on vlmpipe's own pool and node:http, and never pays for undici
// (~0.4 s of CPU and ~55 MB a process). A proxied run still uses it.

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

const packagesImported = (name: string, env: NodeJS.ProcessEnv) =>
  importsOfGenerate({ dir, name, input, url: sim.url, env });

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
