import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { cli, parseLines, tempDir } from "../helpers/dataset.js";
import { ensureFakeVllmExecutable, fakeStarts, fakeVllm, groupAlive, processesMatching } from "../helpers/fake-vllm.js";

const data = path.join(repoRoot, "fixtures", "data");
const answers = path.join(data, "mmmu-pro", "test.jsonl");

beforeAll(ensureFakeVllmExecutable);

/** Is a Slurm controller answering on this machine? (scripts/ci/start-slurm.sh starts one.) */
function slurmStatus(): { ok: true } | { ok: false; reason: string } {
  try {
    execFileSync("sbatch", ["--version"], { stdio: "pipe" });
  } catch {
    return { ok: false, reason: "sbatch is not installed" };
  }
  try {
    const ping = execFileSync("scontrol", ["ping"], { stdio: "pipe", timeout: 15_000 }).toString();
    if (!/\bUP\b/.test(ping))
      return { ok: false, reason: `slurmctld is not reachable (scontrol ping: ${ping.trim()})` };
  } catch (e) {
    return { ok: false, reason: `slurmctld is not reachable (${(e as Error).message.split("\n")[0]})` };
  }
  return { ok: true };
}

const slurm = slurmStatus();
if (!slurm.ok) {
  console.warn(
    `SKIPPED: the real-Slurm eval test (test/cli/eval-cluster.test.ts): ${slurm.reason}. ` +
      "Run scripts/ci/start-slurm.sh as root to start a one-node Slurm on this host.",
  );
}

/** A model name no other test uses, so leftover processes can be looked for by it. */
function modelName(tag: string): string {
  return `Fake-VL-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

function fakeEnv(argsFile: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    VLMPIPE_VLLM_BIN: fakeVllm,
    FAKE_VLLM_ANSWERS: answers,
    FAKE_VLLM_ACCURACY: "0.7",
    FAKE_VLLM_ARGS_FILE: argsFile,
    ...extra,
  };
}

async function run(args: string[], env: Record<string, string>) {
  return waitExit(spawnCli(args, { env }));
}

/** Rows without the fields that record when they ran. */
async function rowsOf(file: string) {
  return parseLines(await readFile(file, "utf8")).map((r) => {
    const { generation_start_time: _a, generation_end_time: _b, generation_time: _c, ...rest } = r;
    return rest;
  });
}

async function metricsOf(out: string) {
  const m = JSON.parse(await readFile(path.join(out, "eval-results", "mmmu-pro", "metrics.json"), "utf8"));
  return JSON.parse(JSON.stringify(m, (k, v) => (k === "gen_seconds" ? undefined : v)));
}

/** The eval started, once its first chunk job has begun and `settleMs` more have passed. */
async function midRun(args: string[], env: Record<string, string>, settleMs: number) {
  const child = spawnCli(args, { env });
  const done = waitExit(child);
  let err = "";
  child.stderr!.on("data", (b: Buffer) => {
    err += b.toString();
  });
  for (let i = 0; i < 600 && !/rs0 chunk 0\/3 \(rows 0-20\) ->/.test(err); i++)
    await new Promise((res) => setTimeout(res, 50));
  if (settleMs > 0) await new Promise((res) => setTimeout(res, settleMs));
  return { child, done };
}

/** Both seeds' outputs in `dir` hold every row of the data once, in order. */
async function expectEveryRowOnce(dir: string): Promise<void> {
  const ids = parseLines(await readFile(answers, "utf8")).map((x) => x.id);
  for (const f of ["output-rs0.jsonl", "output-rs1.jsonl"]) {
    expect((await rowsOf(path.join(dir, f))).map((x) => x.id)).toEqual(ids);
  }
}

function evalArgs(model: string, out: string, extra: string[] = []): string[] {
  return [
    "eval",
    "--benchmarks",
    "mmmu-pro:2",
    "--model",
    model,
    "--server_type",
    "vllm",
    "--server_gpus",
    "2",
    "--server_args",
    "--max-model-len 32768 --limit-mm-per-prompt.video 0",
    "--data_dir",
    data,
    "--output_dir",
    out,
    "--num_chunks",
    "3",
    "--quiet",
    ...extra,
  ];
}

describe("eval --cluster local with a started server", () => {
  it("starts vllm, runs the chunk jobs as processes, merges, summarizes, stops the server; a rerun starts nothing", async () => {
    const out = await tempDir();
    const argsFile = path.join(out, "vllm-starts.jsonl");
    const model = modelName("local");
    const r = await run(evalArgs(model, out, ["--max_parallel_jobs", "3"]), fakeEnv(argsFile));
    expect(r.code, r.stderr).toBe(0);
    const starts = await fakeStarts(argsFile);
    expect(starts).toHaveLength(1);
    expect(starts[0]!.argv).toEqual([
      "serve",
      model,
      "--port",
      expect.stringMatching(/^\d+$/),
      "--tensor-parallel-size",
      "2",
      "--served-model-name",
      model,
      "--max-model-len",
      "32768",
      "--limit-mm-per-prompt.video",
      "0",
    ]);
    expect(groupAlive(starts[0]!.pid)).toBe(false);
    expect(await processesMatching(model)).toEqual([]);
    expect(r.stderr).toMatch(/vlmpipe: 6 jobs, 3 at a time/);
    expect(r.stderr).toMatch(/\[mmmu-pro rs1 chunk 2\/3 \(rows 40-60\)\] vlmpipe: 20 rows in/);
    expect(r.stderr).toMatch(/merged 3 chunks \(60 rows\) into .*output-rs0\.jsonl/);
    expect(r.stdout).toMatch(/pass@1\[avg-of-2\] \| 60/);
    const dir = path.join(out, "eval-results", "mmmu-pro");
    expect((await readdir(dir)).filter((f) => f.includes("_chunk_"))).toEqual([]);
    expect(await rowsOf(path.join(dir, "output-rs1.jsonl"))).toHaveLength(60);
    const logs = await readdir(path.join(out, "eval-logs"));
    expect(logs).toContain("vllm-server.log");
    expect(logs).toContain("mmmu-pro-output-rs0_chunk_2.log");
    expect(await readFile(path.join(out, "eval-logs", "vllm-server.log"), "utf8")).toMatch(
      /sim-server: listening[\s\S]*vllm stopped/,
    );

    const again = await run(evalArgs(model, out), fakeEnv(argsFile));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/6 finished job\(s\) skipped/);
    expect(again.stdout).toMatch(/pass@1\[avg-of-2\] \| 60/);
    expect(await fakeStarts(argsFile)).toHaveLength(1);
  });

  it("fails fast, showing the server log's last lines, when the started server dies while loading", async () => {
    const out = await tempDir();
    const argsFile = path.join(out, "vllm-starts.jsonl");
    const r = await run(evalArgs(modelName("die"), out), fakeEnv(argsFile, { FAKE_VLLM_MODE: "die" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /vllm exited \(exit code 1\) while starting; the last lines of its log \(.*eval-logs\/vllm-server\.log\)/,
    );
    expect(r.stderr).toMatch(/\| ERROR \[fake-vllm\] torch\.OutOfMemoryError: CUDA out of memory/);
    expect(existsSync(path.join(out, "eval-results"))).toBe(false);
  });

  it("stops a server that never becomes healthy after --server_start_timeout", async () => {
    const out = await tempDir();
    const argsFile = path.join(out, "vllm-starts.jsonl");
    const r = await run(
      evalArgs(modelName("hang"), out, ["--server_start_timeout", "2"]),
      fakeEnv(argsFile, { FAKE_VLLM_MODE: "hang" }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/vllm did not answer GET http:\/\/127\.0\.0\.1:\d+\/health within 2s, so it was stopped/);
    const [start] = await fakeStarts(argsFile);
    expect(groupAlive(start!.pid)).toBe(false);
  });

  it("on Ctrl-C while the server is still loading, stops it and exits 130 (interrupted, not failed)", async () => {
    const out = await tempDir();
    const argsFile = path.join(out, "vllm-starts.jsonl");
    const child = spawnCli(evalArgs(modelName("int"), out), { env: fakeEnv(argsFile, { FAKE_VLLM_LOAD_MS: "20000" }) });
    const done = waitExit(child);
    for (let i = 0; i < 600 && (await fakeStarts(argsFile).catch(() => [])).length === 0; i++)
      await new Promise((res) => setTimeout(res, 50));
    child.kill("SIGINT");
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted while the model server was starting; run the same command again to resume/);
    const [start] = await fakeStarts(argsFile);
    expect(groupAlive(start!.pid)).toBe(false);
  });

  it("stops at once with the server's log when the started server crashes mid-run, and a rerun finishes", {
    timeout: 180_000,
  }, async () => {
    const out = await tempDir();
    const argsFile = path.join(out, "vllm-starts.jsonl");
    const model = modelName("crash");
    const env = fakeEnv(argsFile, { FAKE_VLLM_LATENCY_MS: "200" });
    const { done } = await midRun(evalArgs(model, out, ["--max_concurrent_requests", "2"]), env, 300);
    const [start] = await fakeStarts(argsFile);
    // The whole server gone, as when the OOM killer takes it: its process group.
    const stat = await readFile(`/proc/${start!.pid}/stat`, "utf8");
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    process.kill(-pgrp, "SIGKILL");
    const r = await done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/vllm \(pid \d+\) exited during the run \(signal SIGKILL\); the last lines of its log/);
    expect(r.stderr).toMatch(/Run the same command again to resume/);
    expect(r.stderr).not.toMatch(/Check --server_address/);
    expect(await processesMatching(model)).toEqual([]);

    const again = await run(evalArgs(model, out), { ...env, FAKE_VLLM_LATENCY_MS: "0" });
    expect(again.code, again.stderr).toBe(0);
    const dir = path.join(out, "eval-results", "mmmu-pro");
    await expectEveryRowOnce(dir);
  });

  it("on SIGTERM stops the jobs and the server, leaves resumable outputs, and a rerun finishes them", async () => {
    const out = await tempDir();
    const argsFile = path.join(out, "vllm-starts.jsonl");
    const model = modelName("term");
    const env = fakeEnv(argsFile, { FAKE_VLLM_LATENCY_MS: "150" });
    const { child, done } = await midRun(
      evalArgs(model, out, ["--max_concurrent_requests", "2", "--max_parallel_jobs", "2"]),
      env,
      400,
    );
    child.kill("SIGTERM");
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/SIGTERM: finishing the rows in flight/);
    const [start] = await fakeStarts(argsFile);
    expect(groupAlive(start!.pid)).toBe(false);
    expect(await processesMatching(model)).toEqual([]);
    const dir = path.join(out, "eval-results", "mmmu-pro");
    expect((await readdir(dir)).some((f) => /_chunk_\d\.jsonl-async$/.test(f))).toBe(true);

    const again = await run(evalArgs(model, out, ["--max_parallel_jobs", "3"]), { ...env, FAKE_VLLM_LATENCY_MS: "0" });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming .*_chunk_\d\.jsonl-async: \d+ rows done/);
    await expectEveryRowOnce(dir);
  });

  it("leaves neither the server nor its jobs running when the eval is killed with SIGKILL", async () => {
    const out = await tempDir();
    const model = modelName("kill9");
    const { child, done } = await midRun(
      evalArgs(model, out, ["--max_concurrent_requests", "2", "--max_parallel_jobs", "2"]),
      fakeEnv(path.join(out, "vllm-starts.jsonl"), { FAKE_VLLM_LATENCY_MS: "200" }),
      0,
    );
    expect((await processesMatching(model)).length).toBeGreaterThan(2);
    child.kill("SIGKILL");
    await done;
    let left = await processesMatching(model);
    for (let i = 0; i < 150 && left.length > 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      left = await processesMatching(model);
    }
    expect(left).toEqual([]);
    expect(await readFile(path.join(out, "eval-logs", "vllm-server.log"), "utf8")).toMatch(
      /vlmpipe-guard: vlmpipe \(pid \d+\) is gone/,
    );
  });

  it("checks the server flags", async () => {
    const d = await tempDir();
    const base = ["eval", "--benchmarks", "mmmu-pro", "--model", "m", "--data_dir", data, "--output_dir", d];
    const a = await cli([...base, "--server_address", "127.0.0.1:1", "--server_gpus", "2"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(
      /give --server_address \(servers you run\) or --server_gpus \(vlmpipe starts one\), not both/,
    );
    const b = await cli(base);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(
      /give --server_address of a running server, --server_type vllm\|sglang --server_gpus G to start one/,
    );
    const c = await cli([...base, "--server_type", "sim", "--wait"]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--wait is for Slurm clusters/);
    const e = await cli([...base, "--server_type", "sim", "--num_chunks", "0"]);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/--num_chunks takes a positive whole number, got "0"/);
  });
});

describe("eval --cluster <slurm config>", () => {
  it("prints the sbatch scripts with --dry_run and submits nothing", async () => {
    const out = await tempDir();
    const cfg = path.join(out, "site.yaml");
    await writeFile(cfg, "executor: slurm\npartition: gpu\ngpus_per_node: 8\nsetup: [module load cuda]\n");
    const r = await cli([...evalArgs("Qwen/Qwen2.5-VL-7B-Instruct", out, ["--cluster", cfg, "--dry_run"])]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("#SBATCH --partition=gpu\n");
    expect(r.stdout).toContain("#SBATCH --gpus-per-node=2\n");
    expect(r.stdout).toContain("#SBATCH --array=0-5\n");
    expect(r.stdout).toContain("module load cuda\n");
    expect(r.stdout).toMatch(/eval_merge --benchmarks mmmu-pro:2/);
    expect(r.stderr).toMatch(
      /--dry_run: 6 job\(s\) and a merge job would be submitted to Slurm \(site\); nothing was submitted/,
    );
    expect(existsSync(path.join(out, "eval-logs"))).toBe(false);
  });

  it.skipIf(!slurm.ok)(
    "runs mmmu-pro:2 in 3 chunks as real sbatch jobs, skipping a finished chunk, with the local executor's metrics",
    async () => {
      const model = modelName("slurm");
      const localOut = await tempDir();
      const slurmOut = await tempDir();
      const argsFile = path.join(slurmOut, "vllm-starts.jsonl");
      const env = fakeEnv(argsFile);
      // The reference: the same eval on the local executor.
      const local = await run(
        evalArgs(model, localOut, ["--max_parallel_jobs", "3"]),
        fakeEnv(path.join(localOut, "vllm-starts.jsonl")),
      );
      expect(local.code, local.stderr).toBe(0);

      // One chunk already finished (as a killed earlier submission would leave it).
      const pre = await run(
        [
          "eval_job",
          ...evalArgs(model, slurmOut).slice(1),
          "--job_benchmark",
          "mmmu-pro",
          "--job_seed",
          "0",
          "--job_chunk",
          "1",
        ],
        env,
      );
      expect(pre.code, pre.stderr).toBe(0);

      const cfg = path.join(slurmOut, "ci-slurm.yaml");
      await writeFile(
        cfg,
        [
          "executor: slurm",
          'time: "00:10:00"',
          "gpus_per_node: 0   # the CI node has no GPU gres",
          "poll_seconds: 1",
          `vllm_command: ${fakeVllm}`,
          "env_vars:",
          `  FAKE_VLLM_ANSWERS: ${answers}`,
          "  FAKE_VLLM_ACCURACY: 0.7",
          `  FAKE_VLLM_ARGS_FILE: ${argsFile}`,
          "",
        ].join("\n"),
      );
      const slurmEnv = { FAKE_VLLM_ARGS_FILE: "", VLMPIPE_VLLM_BIN: "" };
      const r = await run(evalArgs(model, slurmOut, ["--cluster", cfg, "--wait"]), slurmEnv);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const m = /generation: job array (\d+) with 5 task\(s\): (.*)/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(m![2]).not.toContain("rs0 chunk 1/3");
      expect(r.stdout).toMatch(/merge and summarize: job \d+, after \d+ succeed/);
      expect(r.stderr).toMatch(
        /1 finished job\(s\) not submitted \(--overwrite redoes them\): mmmu-pro rs0 chunk 1\/3/,
      );
      expect(r.stdout).toMatch(/pass@1\[avg-of-2\] \| 60/);

      // Same metrics and the same rows as the local executor.
      expect(await metricsOf(slurmOut)).toEqual(await metricsOf(localOut));
      for (const f of ["output-rs0.jsonl", "output-rs1.jsonl"]) {
        expect(await rowsOf(path.join(slurmOut, "eval-results", "mmmu-pro", f))).toEqual(
          await rowsOf(path.join(localOut, "eval-results", "mmmu-pro", f)),
        );
      }
      // Each Slurm task started its own server (the pre-run one more) and stopped it.
      const starts = await fakeStarts(argsFile);
      expect(starts).toHaveLength(6);
      for (const s of starts) {
        expect(s.argv.slice(-4)).toEqual(["--max-model-len", "32768", "--limit-mm-per-prompt.video", "0"]);
        expect(groupAlive(s.pid)).toBe(false);
      }
      expect(await processesMatching(model)).toEqual([]);
      const slurmLogs = await readdir(path.join(slurmOut, "eval-logs", "slurm"));
      expect(slurmLogs.filter((f) => /-\d+_\d\.out$/.test(f))).toHaveLength(5);
      expect(slurmLogs.filter((f) => /-merge-\d+\.out$/.test(f))).toHaveLength(1);
      const task = await readFile(
        path.join(slurmOut, "eval-logs", "slurm", slurmLogs.find((f) => /_0\.out$/.test(f))!),
        "utf8",
      );
      expect(task).toMatch(/vllm is ready at http:\/\/127\.0\.0\.1:\d+\/v1 \(Slurm job \d+ on /);
      expect(task).toMatch(/stopping vllm/);

      // A second submission of the same eval: every chunk is done, nothing is submitted.
      const again = await run(evalArgs(model, slurmOut, ["--cluster", cfg, "--wait"]), slurmEnv);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/every job is done; merging and summarizing here \(nothing submitted\)/);
      expect(again.stdout).not.toMatch(/Submitted/);
      expect(again.stdout).toMatch(/pass@1\[avg-of-2\] \| 60/);

      // While a merge job of this eval is still queued (held here), merging here too would race
      // it over the same files: refused.
      const jobName = /^(.*)-merge-\d+\.out$/.exec(slurmLogs.find((f) => /-merge-\d+\.out$/.test(f))!)![1]!;
      const held = execFileSync("sbatch", [
        "--parsable",
        "--hold",
        `--job-name=${jobName}-merge`,
        `--output=${path.join(slurmOut, "held-%j.out")}`,
        "--wrap",
        "true",
      ])
        .toString()
        .trim()
        .split(";")[0]!;
      try {
        const racing = await run(evalArgs(model, slurmOut, ["--cluster", cfg]), slurmEnv);
        expect(racing.code, racing.stderr).toBe(2);
        expect(racing.stderr).toContain(`jobs of this eval (${jobName}) are already queued or running: ${held}`);
        expect(racing.stderr).not.toMatch(/merging and summarizing here/);
      } finally {
        execFileSync("scancel", [held]);
      }
    },
    240_000,
  );
});
