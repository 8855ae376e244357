import path from "node:path";
import { describe, expect, it } from "vitest";
import { runGenerate } from "../../src/run/generate-run.js";
import { makeDataset, tempDir } from "../helpers/dataset.js";

describe("a graceful stop while waiting for the server at start", () => {
  it("ends the wait as an interruption (exit 130), not as 'cannot reach the server' when the wait runs out", async () => {
    const d = await tempDir();
    const data = await makeDataset(d, 3, { images: false });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const r = await runGenerate({
      inputFile: data.file,
      outputFile: path.join(d, "o.jsonl"),
      promptConfig: "vlm/mmmu-pro",
      model: "m",
      // Nothing listens there: the start-up check waits up to wait_timeout.
      serverAddress: "http://127.0.0.1:9/v1",
      maxConcurrentRequests: 2,
      overrides: { server: { wait_timeout: 30 } },
      stop: stop.signal,
      log: () => {},
    });
    expect(r).toMatchObject({ interrupted: true, complete: false });
    expect(r.stats.done).toBe(0);
  });
});
