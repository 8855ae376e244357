import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { cli, png, tempDir } from "../helpers/dataset.js";

// Failed rows are explained where people look: the final stderr lines give, per error code,
// the count and the first failure with its input line, row id and message.

let sim: SimServer;
let dir: string;
beforeAll(async () => {
  sim = await startSimServer({ model: "sim" });
  dir = await tempDir();
  await writeFile(path.join(dir, "ok.png"), await png());
});
afterAll(() => sim.close());

const run = (input: string, out: string, address = `${sim.url}/v1`) =>
  cli([
    "generate",
    "--input_file",
    input,
    "--output_file",
    out,
    "--prompt_config",
    "vlm/mmmu-pro",
    "--model",
    "sim",
    "--server_address",
    address,
    "--quiet",
    "--max_concurrent_requests",
    "1",
  ]);

describe("failure summary", () => {
  it("names each error code's count and its first row: input line, id and message", async () => {
    const input = path.join(dir, "missing.jsonl");
    const row = (id: string, image: string) => JSON.stringify({ id, problem: "q", image_path: image });
    // Line 2 is blank: the first failure is on line 3, the input's second row.
    await writeFile(input, `${row("a", "ok.png")}\n\n${row("b", "images/x.png")}\n${row("c", "images/y.png")}\n`);
    const r = await run(input, path.join(dir, "missing-out.jsonl"));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `vlmpipe: 2 failed: VLM_E_IMAGE_NOT_FOUND x2 (first: line 3, id b: image not found: ${path.join(dir, "images", "x.png")} (from "images/x.png"))`,
    );
  });

  it("a 404 from the chat endpoint names the request and says --server_address must end in /v1", async () => {
    const input = path.join(dir, "one.jsonl");
    await writeFile(input, `${JSON.stringify({ id: "only", problem: "q", image_path: "ok.png" })}\n`);
    const r = await run(input, path.join(dir, "404-out.jsonl"), `${sim.url}/api`);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `1 failed: VLM_E_HTTP x1 \\(first: line 1, id only: HTTP 404: .* \\(POST ${sim.url}/api/chat/completions\\): ` +
          "--server_address must be the server's OpenAI base URL, ending in /v1",
      ),
    );
  });
});
