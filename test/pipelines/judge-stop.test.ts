import { readFile, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { cli, makeDataset, parseLines, tempDir } from "../helpers/dataset.js";

const N = 30;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;
let sim: SimServer;
beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, N);
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 0.5 });
});
afterAll(() => sim.close());

/** A judge on loopback: each call is handed to `onCall` (which may hold it); its problem is recorded. */
async function judgeServer(onCall: (problem: string, res: ServerResponse) => void) {
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url?.endsWith("/models")) {
        res.end(JSON.stringify({ data: [{ id: "judge" }] }));
        return;
      }
      const q = JSON.parse(body) as { messages: { content: string }[] };
      const problem = /Question:\n(.*)\n/.exec(q.messages.at(-1)?.content ?? "")?.[1] ?? "?";
      onCall(problem, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const yes = (res: ServerResponse) => {
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({
      choices: [{ index: 0, message: { role: "assistant", content: "Fine.\nJudgement: Yes" }, finish_reason: "stop" }],
      usage: { completion_tokens: 3 },
    }),
  );
};
const unavailable = (res: ServerResponse) => {
  res.writeHead(503, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { message: "busy", type: "ServiceUnavailable", code: 503 } }));
};

async function pipelineFile(judgeUrl: string): Promise<string> {
  const file = path.join(dir, `judge-${Math.random().toString(36).slice(2)}.yaml`);
  const shipped = await readFile(path.join(repoRoot, "pipelines", "open-answer-judge.yaml"), "utf8");
  await writeFile(
    file,
    shipped.replace(
      "      output_key: judgement",
      `      model: judge\n      server_address: ${judgeUrl}\n      output_key: judgement`,
    ),
  );
  return file;
}

const args = (pipeline: string, out: string) => [
  "run",
  pipeline,
  "--input_file",
  data.file,
  "--output_file",
  out,
  "--model",
  "sim",
  "--server_address",
  `${sim.url}/v1`,
  "--max_concurrent_requests",
  "2",
  "--quiet",
  "++server.stream=false",
  "++server.max_retries=1",
];

describe("a judge stage and the run's graceful stop", () => {
  it("sends no new judge call and no retry after Ctrl-C; the resumed run judges each missing row once", async () => {
    // First run: the judge holds every call; Ctrl-C comes while two are held and more rows wait
    // for the judge; then the held calls get a retryable 503. The resumed run's judge answers.
    let mode: "hold" | "stopped" | "answer" = "hold";
    let callsAfterStop = 0;
    const held: ServerResponse[] = [];
    const judged: string[] = [];
    const judge = await judgeServer((problem, res) => {
      if (mode === "hold") held.push(res);
      else if (mode === "stopped") {
        callsAfterStop++;
        unavailable(res);
      } else {
        judged.push(problem);
        yes(res);
      }
    });
    try {
      const pipeline = await pipelineFile(judge.url);
      const out = path.join(dir, "stopped", "o.jsonl");
      const child = spawnCli(args(pipeline, out));
      let stderr = "";
      child.stderr?.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
      const exit = waitExit(child);
      while (held.length < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      child.kill("SIGINT");
      while (!stderr.includes("finishing the rows in flight") && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 5));
      }
      mode = "stopped";
      for (const res of held.splice(0)) unavailable(res);
      const r = await exit;
      expect(r.code, stderr).toBe(130);
      // No retry of the two calls in flight, no call for the rows generated but not judged yet.
      expect(callsAfterStop).toBe(0);
      const lines = parseLines(await readFile(`${out}-async`, "utf8"));
      // The two calls in flight ended as failed rows; the rows that waited for the judge have no line.
      expect(lines.filter((l) => l.error)).toHaveLength(2);
      expect(lines.length).toBe(2);

      mode = "answer";
      const again = await cli(args(pipeline, out));
      expect(again.code, again.stderr).toBe(0);
      const rows = parseLines(await readFile(out, "utf8"));
      expect(rows.map((x) => x.id)).toEqual(data.rows.map((x) => x.id));
      expect(rows.every((x) => x.judge_correct === true)).toBe(true);
      // Every row judged once: the failed two retried, the others for the first time.
      expect(judged).toHaveLength(N);
      expect(new Set(judged).size).toBe(N);
    } finally {
      await judge.close();
    }
  });
});
