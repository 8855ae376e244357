import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;
let model: SimServer;
let judge: SimServer;
beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, 8);
  model = await startSimServer({ model: "sim", answer_rows: data.rows as never });
  // The simulator as the judge model on a server of its own.
  judge = await startSimServer({ model: "judge", answer_rows: data.rows as never });
});
afterAll(async () => {
  await model.close();
  await judge.close();
});

async function pipeline(judgeOptions: string): Promise<string> {
  const file = path.join(dir, `p-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    file,
    "stages:\n  - renderPrompt: { prompt_config: vlm/open-answer }\n  - resolveImages\n  - generate\n" +
      `  - judge: { prompt_config: judge/open-answer, ${judgeOptions} }\n`,
  );
  return file;
}

const run = (file: string, out: string, ...more: string[]) =>
  cli([
    "run",
    file,
    "--input_file",
    data.file,
    "--output_file",
    out,
    "--model",
    "sim",
    "--server_address",
    `${model.url}/v1`,
    "--quiet",
    ...more,
  ]);

describe("a judge on a server of its own", () => {
  it("is checked before any row is sent: a judge model its server does not serve, a server that is down", async () => {
    const before = model.stats.chat;
    const out = path.join(dir, "a.jsonl");
    const r = await run(await pipeline(`model: nope, server_address: "${judge.url}/v1"`), out);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the judge stage of .* \(model "nope"\): the server at .* does not serve model "nope"/);
    // The model on the run's server was not asked for anything it would be judged on.
    expect(model.stats.chat).toBe(before);

    const down = await run(
      await pipeline('model: judge, server_address: "127.0.0.1:1"'),
      path.join(dir, "b.jsonl"),
      "++server.wait_timeout=0",
    );
    expect(down.code, down.stderr).toBe(1);
    expect(down.stderr).toMatch(
      /the judge stage of .*: cannot reach the server at http:\/\/127.0.0.1:1\/v1.*its server_address/,
    );
    expect(model.stats.chat).toBe(before);
  });

  it("counts and logs its retries with the run's", async () => {
    judge.setFaults({ fail_first: 2 });
    const out = path.join(dir, "c.jsonl");
    const r = await run(
      await pipeline(`model: judge, server_address: "${judge.url}/v1"`),
      out,
      "--max_concurrent_requests",
      "1",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/vlmpipe: retry 1 in \d+ ms: HTTP 503/);
    expect(r.stderr).toMatch(/, 2 retries,/);
    expect(parseLines(await readFile(out, "utf8"))).toHaveLength(8);
  });
});
