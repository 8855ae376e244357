import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { request } from "undici";
import { beforeAll, describe, expect, it } from "vitest";
import { createTransport } from "../../src/client/transport.js";
import { ErrorCodes } from "../../src/errors.js";
import { getText } from "../../src/net/get-text.js";
import { proxyFor, readProxyEnv } from "../../src/net/proxy-env.js";
import { secretsToEnv, serverCommand, serverExecutable } from "../../src/server/launch-command.js";
import { freePort } from "../../src/server/launch-port.js";
import { launchServer } from "../../src/server/launch-server.js";
import { quoteShell, redactSecrets, splitShellWords } from "../../src/server/launch-shell.js";
import { repoRoot } from "../helpers/bin.js";
import { tempDir } from "../helpers/dataset.js";
import { ensureFakeVllmExecutable, fakeStarts, fakeVllm, groupAlive } from "../helpers/fake-vllm.js";
import { loggingProxy } from "../helpers/logging-proxy.js";

const answers = path.join(repoRoot, "fixtures", "data", "mmmu-pro", "test.jsonl");

beforeAll(ensureFakeVllmExecutable);

/** Starts the fake vllm through the real launcher; FAKE_VLLM_* knobs in `env`. */
async function launchFake(
  env: Record<string, string>,
  o: { timeout?: number; grace?: number; signal?: AbortSignal; args?: string } = {},
) {
  const dir = await tempDir();
  const port = await freePort();
  const argsFile = path.join(dir, "starts.jsonl");
  const logFile = path.join(dir, "eval-logs", "vllm-server.log");
  const lines: string[] = [];
  const command = serverCommand({
    type: "vllm",
    model: "Qwen/Fake-VL",
    port,
    gpus: 2,
    args: o.args,
    executable: fakeVllm,
  });
  const started = launchServer({
    command,
    port,
    logFile,
    env: { ...process.env, FAKE_VLLM_ARGS_FILE: argsFile, FAKE_VLLM_ANSWERS: answers, ...env },
    startTimeoutSeconds: o.timeout ?? 60,
    stopGraceSeconds: o.grace ?? 5,
    signal: o.signal,
    log: (l) => lines.push(l),
    name: "vllm",
  });
  return { started, port, logFile, argsFile, lines };
}

describe("server command lines", () => {
  it("builds vllm serve with the port, tensor parallelism, served name and the user's --server_args", () => {
    const argv = serverCommand({
      type: "vllm",
      model: "Qwen/Qwen2.5-VL-7B-Instruct",
      port: 8123,
      gpus: 8,
      args: `--limit-mm-per-prompt.video 0 --max-model-len 128000 --async-scheduling --limit-mm-per-prompt '{"image": 8}'`,
      executable: "vllm",
    });
    expect(argv).toEqual([
      "vllm",
      "serve",
      "Qwen/Qwen2.5-VL-7B-Instruct",
      "--port",
      "8123",
      "--tensor-parallel-size",
      "8",
      "--served-model-name",
      "Qwen/Qwen2.5-VL-7B-Instruct",
      "--limit-mm-per-prompt.video",
      "0",
      "--max-model-len",
      "128000",
      "--async-scheduling",
      "--limit-mm-per-prompt",
      '{"image": 8}',
    ]);
  });

  it("builds SGLang's launch_server, and spans nodes with vLLM pipeline parallelism or SGLang ranks", () => {
    expect(
      serverCommand({ type: "sglang", model: "m", port: 30001, gpus: 4, executable: "python -m sglang.launch_server" }),
    ).toEqual(["python", "-m", "sglang.launch_server", "--model-path", "m", "--port", "30001", "--tp", "4"]);
    expect(
      serverCommand({ type: "vllm", model: "m", port: 1, gpus: 8, nodes: 2, executable: "vllm" }).join(" "),
    ).toContain(
      "--tensor-parallel-size 8 --served-model-name m --pipeline-parallel-size 2 --distributed-executor-backend ray",
    );
    expect(
      serverCommand({
        type: "sglang",
        model: "m",
        port: 1,
        gpus: 8,
        nodes: 2,
        nodeRank: 1,
        distInitAddr: "n1:5757",
        executable: "sglang",
      }).join(" "),
    ).toBe("sglang --model-path m --port 1 --tp 16 --nnodes 2 --node-rank 1 --dist-init-addr n1:5757");
  });

  it("takes a wrapped executable as shell words and refuses --server_args that set the port", () => {
    const argv = serverCommand({
      type: "vllm",
      model: "m",
      port: 1,
      gpus: 1,
      executable: "apptainer exec --nv '/images/my vllm.sif' vllm",
    });
    expect(argv.slice(0, 6)).toEqual(["apptainer", "exec", "--nv", "/images/my vllm.sif", "vllm", "serve"]);
    expect(() =>
      serverCommand({ type: "vllm", model: "m", port: 1, gpus: 1, args: "--port 9000", executable: "vllm" }),
    ).toThrow(/--server_args must not set --port/);
  });

  it("refuses the flags it sets in every spelling the server reads: _ for -, --flag=value, aliases and prefixes", () => {
    const refused = (type: "vllm" | "sglang", args: string, nodes = 1) => {
      try {
        serverCommand({ type, model: "m", port: 1, gpus: 4, nodes, args, executable: type });
        return "accepted";
      } catch (e) {
        return (e as Error).message;
      }
    };
    // vLLM's parser turns _ into - in flag names; the last value wins.
    expect(refused("vllm", "--served_model_name other")).toMatch(
      /must not set --served_model_name \(vllm reads it as --served-model-name\)/,
    );
    expect(refused("vllm", "--tensor_parallel_size 1")).toMatch(/--tensor-parallel-size/);
    expect(refused("vllm", "--port=1234")).toMatch(/must not set --port:/);
    expect(refused("vllm", "--served-model-name=x")).toMatch(/must not set --served-model-name:/);
    expect(refused("vllm", "-tp=2")).toMatch(/must not set -tp:/);
    expect(refused("vllm", "--model other/model")).toMatch(/must not set --model:/);
    expect(refused("vllm", "--served-model other")).toMatch(/reads it as --served-model-name/);
    // SGLang's aliases (and argparse's prefixes: --tp is --tp-size).
    expect(refused("sglang", "--tensor-parallel-size 2")).toMatch(/must not set --tensor-parallel-size/);
    expect(refused("sglang", "--model other/model")).toMatch(/must not set --model:/);
    expect(refused("sglang", "--tp 2")).toMatch(/must not set --tp \(sglang reads it as --tp-size\)/);
    expect(refused("sglang", "--tp_size=2")).toMatch(/reads it as --tp-size/);
    expect(refused("sglang", "--port 9")).toMatch(/must not set --port/);
    // Multi-node servers: what vlmpipe adds to span the nodes.
    expect(refused("vllm", "--pipeline_parallel_size 3", 2)).toMatch(/--pipeline-parallel-size/);
    expect(refused("vllm", "-pp 3", 2)).toMatch(/must not set -pp:/);
    expect(refused("sglang", "--node-rank 1", 2)).toMatch(/must not set --node-rank/);
    // Anything else passes, including values and flags that only share a beginning.
    for (const ok of [
      "--max-model-len 4096 --limit-mm-per-prompt.video 0",
      "--model-impl transformers --port-range-start 1",
      "--pipeline-parallel-size 2",
      "--chat-template '--port 1'",
      "--host 0.0.0.0",
    ]) {
      expect(refused("vllm", ok)).toBe("accepted");
    }
    expect(refused("sglang", "--mem-fraction-static 0.8 --model-loader-extra-config {}")).toBe("accepted");
  });

  it("names the executable from the cluster config, else $VLMPIPE_VLLM_BIN / $VLMPIPE_SGLANG_BIN, else the default", () => {
    expect(serverExecutable("vllm", "srun-vllm", { VLMPIPE_VLLM_BIN: "/opt/vllm" })).toBe("srun-vllm");
    expect(serverExecutable("vllm", undefined, { VLMPIPE_VLLM_BIN: "/opt/vllm" })).toBe("/opt/vllm");
    expect(serverExecutable("vllm", undefined, {})).toBe("vllm");
    expect(serverExecutable("sglang", undefined, {})).toBe("python -m sglang.launch_server");
    expect(serverExecutable("sglang", undefined, { VLMPIPE_SGLANG_BIN: "sg" })).toBe("sg");
  });

  it("splits and quotes shell words the way sh does, and hides secrets", () => {
    expect(splitShellWords(`a "b c" 'd "e"' f\\ g "h\\"i"`)).toEqual(["a", "b c", 'd "e"', "f g", 'h"i']);
    expect(splitShellWords("  ")).toEqual([]);
    expect(() => splitShellWords("a 'b")).toThrow(/unbalanced ' quote/);
    const words = ["x", "it's", "--a=b c", ""];
    expect(splitShellWords(quoteShell(words))).toEqual(words);
    expect(redactSecrets(["vllm", "--api-key", "sk-1", "--api-key=sk-2", "--port", "1"])).toEqual([
      "vllm",
      "--api-key",
      "***",
      "--api-key=***",
      "--port",
      "1",
    ]);
  });

  it("finds a free port", async () => {
    const p = await freePort();
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(65536);
  });
});

describe("launchServer (with the stand-in vllm)", () => {
  it("starts the server, waits for /health through the loading time, logs it, and stops its whole process group", async () => {
    const { started, port, logFile, argsFile, lines } = await launchFake(
      { FAKE_VLLM_LOAD_MS: "800" },
      { args: "--max-model-len 4096" },
    );
    const server = await started;
    expect(server.baseUrl).toBe(`http://127.0.0.1:${port}/v1`);
    const res = await request(`${server.baseUrl}/models`);
    const models = (await res.body.json()) as { data: { id: string; max_model_len: number }[] };
    expect(models.data[0]).toMatchObject({ id: "Qwen/Fake-VL", max_model_len: 4096 });
    const [start] = await fakeStarts(argsFile);
    expect(start!.argv).toEqual([
      "serve",
      "Qwen/Fake-VL",
      "--port",
      String(port),
      "--tensor-parallel-size",
      "2",
      "--served-model-name",
      "Qwen/Fake-VL",
      "--max-model-len",
      "4096",
    ]);
    expect(groupAlive(server.pid)).toBe(true);
    await server.stop();
    expect(groupAlive(server.pid)).toBe(false);
    await server.stop(); // idempotent
    const log = await readFile(logFile, "utf8");
    expect(log).toMatch(
      /vlmpipe: starting vllm: .*fake-vllm\/vllm serve Qwen\/Fake-VL --port \d+ --tensor-parallel-size 2/,
    );
    expect(log).toMatch(/Loading model weights/);
    expect(log).toMatch(/sim-server: listening on/);
    expect(log).toMatch(/vlmpipe: vllm stopped/);
    expect(lines.join("\n")).toMatch(/vllm is ready at/);
  });

  it("fails fast with the log's last lines when the server exits while loading", async () => {
    const { started, argsFile } = await launchFake(
      { FAKE_VLLM_MODE: "die", FAKE_VLLM_LOAD_MS: "200" },
      { timeout: 120 },
    );
    const t0 = Date.now();
    const err = await started.then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe(ErrorCodes.SERVER_START);
    expect(err?.message).toMatch(/vllm exited \(exit code 1\) while starting; the last lines of its log/);
    expect(err?.message).toMatch(/CUDA out of memory/);
    // Fail fast: well before the 120 s start timeout.
    expect(Date.now() - t0).toBeLessThan(60_000);
    const [start] = await fakeStarts(argsFile);
    expect(groupAlive(start!.pid)).toBe(false);
  });

  it("stops a server that never becomes healthy when the start timeout is over", async () => {
    const { started, argsFile, logFile } = await launchFake({ FAKE_VLLM_MODE: "hang" }, { timeout: 1.5 });
    await expect(started).rejects.toMatchObject({
      code: ErrorCodes.SERVER_START,
      message: expect.stringMatching(
        /did not answer GET http:\/\/127\.0\.0\.1:\d+\/health within 1\.5s, so it was stopped[\s\S]*never comes up/,
      ),
    });
    const [start] = await fakeStarts(argsFile);
    expect(groupAlive(start!.pid)).toBe(false);
    expect(await readFile(logFile, "utf8")).toMatch(/received SIGTERM/);
  });

  it("kills a server that ignores SIGTERM once the grace period is over", async () => {
    const { started, argsFile, lines } = await launchFake(
      { FAKE_VLLM_MODE: "hang", FAKE_VLLM_IGNORE_SIGTERM: "1" },
      { timeout: 1, grace: 0.5 },
    );
    await expect(started).rejects.toMatchObject({ code: ErrorCodes.SERVER_START });
    const [start] = await fakeStarts(argsFile);
    expect(groupAlive(start!.pid)).toBe(false);
    expect(lines.join("\n")).toMatch(/did not stop within 0\.5s of SIGTERM: SIGKILL/);
  });

  it("stops the loading server when the wait is aborted (Ctrl-C during start-up)", async () => {
    const ac = new AbortController();
    const { started, argsFile } = await launchFake({ FAKE_VLLM_MODE: "hang" }, { signal: ac.signal });
    // Abort once the server process is up and "loading".
    for (let i = 0; i < 200 && (await fakeStarts(argsFile)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await expect(started).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    const [start] = await fakeStarts(argsFile);
    expect(groupAlive(start!.pid)).toBe(false);
  });

  it("stops the server when vlmpipe itself is killed with SIGKILL (nothing in it can run then)", async () => {
    const dir = await tempDir();
    const argsFile = path.join(dir, "starts.jsonl");
    const script = `
      const { launchServer } = await import(${JSON.stringify(path.join(repoRoot, "dist", "server", "launch-server.js"))});
      const { freePort } = await import(${JSON.stringify(path.join(repoRoot, "dist", "server", "launch-port.js"))});
      const port = await freePort();
      const s = await launchServer({ command: [${JSON.stringify(fakeVllm)}, "serve", "m", "--port", String(port)], port,
        logFile: ${JSON.stringify(path.join(dir, "server.log"))}, startTimeoutSeconds: 60, stopGraceSeconds: 2 });
      process.stdout.write(s.pid + "\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, FAKE_VLLM_ARGS_FILE: argsFile },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve) =>
      child.stdout!.once("data", (b: Buffer) => resolve(Number(b.toString().trim()))),
    );
    expect(groupAlive(pid)).toBe(true);
    child.kill("SIGKILL");
    for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(groupAlive(pid)).toBe(false);
    expect(await readFile(path.join(dir, "server.log"), "utf8")).toMatch(
      /vlmpipe-guard: vlmpipe \(pid \d+\) is gone: stopping the server/,
    );
  });

  it("reaches the server it started directly, health check and the run's requests, whatever $http_proxy says", async () => {
    // A proxy (on another host, as a rule) cannot reach this machine's loopback: through it the
    // health wait would last the whole start timeout, then blame the server.
    const proxy = await loggingProxy();
    const names = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"];
    const saved = Object.fromEntries(names.map((k) => [k, process.env[k]]));
    for (const k of names) delete process.env[k];
    process.env.http_proxy = proxy.url;
    process.env.ALL_PROXY = proxy.url;
    try {
      const { started } = await launchFake({});
      const server = await started;
      try {
        // What a run does with it: GET /v1/models, then chat completions.
        expect((await getText(`${server.baseUrl}/models`, { timeoutMs: 10_000 })).statusCode).toBe(200);
        const client = createTransport({
          baseUrl: server.baseUrl,
          connections: 1,
          idleTimeoutMs: 30_000,
          responseTimeoutMs: 30_000,
          totalTimeoutMs: 60_000,
        });
        try {
          const r = await client.chat({ model: "Qwen/Fake-VL", messages: [{ role: "user", content: "Hi?" }] });
          expect(typeof r.content).toBe("string");
        } finally {
          await client.close();
        }
      } finally {
        await server.stop();
      }
      expect(proxy.log).toEqual([]);
      // Once stopped, that address is an address like any other again.
      expect(proxyFor(new URL(server.url), readProxyEnv())?.origin).toBe(proxy.url);
    } finally {
      for (const k of names) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      proxy.close();
    }
  });

  it("says how to name the executable when it is not installed", async () => {
    const dir = await tempDir();
    await expect(
      launchServer({
        command: ["/nonexistent/vllm", "serve", "m"],
        port: await freePort(),
        logFile: path.join(dir, "s.log"),
        startTimeoutSeconds: 5,
      }),
    ).rejects.toMatchObject({
      code: ErrorCodes.SERVER_START,
      message: expect.stringMatching(/cannot start vllm \(`\/nonexistent\/vllm`\):\n.*ENOENT[\s\S]*VLMPIPE_VLLM_BIN/),
    });
  });
});

describe("secretsToEnv", () => {
  it("moves vLLM's --api-key and --hf-token into its environment, off the command line ps shows", () => {
    const argv = ["vllm", "serve", "m", "--api-key", "sk-1", "--port", "1", "--hf-token=hf_2"];
    expect(secretsToEnv("vllm", argv)).toEqual({
      argv: ["vllm", "serve", "m", "--port", "1"],
      env: { VLLM_API_KEY: "sk-1", HF_TOKEN: "hf_2" },
    });
    // Several keys (vLLM takes them all) stay flags; SGLang has no such variables.
    const two = ["vllm", "serve", "m", "--api-key", "a", "--api_key=b"];
    expect(secretsToEnv("vllm", two)).toEqual({ argv: two, env: {} });
    const sglang = ["python", "-m", "sglang.launch_server", "--api-key", "k"];
    expect(secretsToEnv("sglang", sglang)).toEqual({ argv: sglang, env: {} });
  });
});
