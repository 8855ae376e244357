import path from "node:path";
import { describe, expect, it } from "vitest";
import { directEnv, startServers } from "../../src/cluster/local-servers.js";
import { planEval } from "../../src/cluster/plan.js";
import { proxyFor, readProxyEnv } from "../../src/net/proxy-env.js";
import { repoRoot } from "../helpers/bin.js";
import { tempDir } from "../helpers/dataset.js";

const data = path.join(repoRoot, "fixtures", "data");
const proxied = readProxyEnv({ http_proxy: "http://proxy.example:3128" });

describe("servers an eval starts on this machine", () => {
  it("are reached directly while they run, whatever the proxy variables say (the simulator here)", async () => {
    const out = await tempDir();
    const plan = await planEval({
      benchmarks: "mmmu-pro",
      model: "m",
      dataDir: data,
      outputDir: out,
      maxConcurrentRequests: 4,
      overrides: {},
      numChunks: 1,
      rerunDone: false,
      server: { kind: "sim", sim: { sim_accuracy: 1, sim_latency_ms: 0, sim_seed: 0 } },
      progressSeconds: 0,
    });
    const servers = await startServers(plan, { logFile: path.join(out, "server.log"), log: () => {} });
    const url = new URL(`${servers.addresses[0]}/chat/completions`);
    try {
      expect(proxyFor(url, proxied)).toBeUndefined();
      expect(servers.local).toBe(true);
    } finally {
      await servers.close();
    }
    expect(proxyFor(url, proxied)?.host).toBe("proxy.example:3128");
  });

  it("are listed in no_proxy and NO_PROXY for the job processes, after what the user listed", () => {
    const env = directEnv({ http_proxy: "http://proxy.example:3128", NO_PROXY: "corp.example" }, [
      "http://127.0.0.1:41681/v1",
    ]);
    expect(env.no_proxy).toBe("corp.example,127.0.0.1:41681");
    expect(env.NO_PROXY).toBe("corp.example,127.0.0.1:41681");
    const s = readProxyEnv(env);
    expect(proxyFor(new URL("http://127.0.0.1:41681/v1/chat/completions"), s)).toBeUndefined();
    expect(proxyFor(new URL("http://corp.example/v1"), s)).toBeUndefined();
    expect(proxyFor(new URL("http://127.0.0.1:9/v1"), s)?.host).toBe("proxy.example:3128");
    expect(directEnv({ no_proxy: "" }, ["http://[::1]:8000/v1"]).no_proxy).toBe("[::1]:8000");
    const untouched = { http_proxy: "http://p:1" };
    expect(directEnv(untouched, [])).toBe(untouched);
  });
});
