import { execFile, execFileSync, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseClusterConfig, type SlurmClusterConfig } from "../../src/cluster/config.js";
import { jobSelector } from "../../src/cluster/local-executor.js";
import { planEval } from "../../src/cluster/plan.js";
import type { EvalSettings } from "../../src/cluster/settings.js";
import type { CommandRunner } from "../../src/cluster/slurm-commands.js";
import { finalStates, queueStates } from "../../src/cluster/slurm-commands.js";
import { runSlurmEval } from "../../src/cluster/slurm-executor.js";
import {
  renderGenerationScript,
  renderMergeScript,
  type ScriptContext,
  sbatchPath,
} from "../../src/cluster/slurm-script.js";
import { quoteShell, splitShellWords } from "../../src/server/launch-shell.js";
import { repoRoot } from "../helpers/bin.js";
import { cli, tempDir } from "../helpers/dataset.js";
import { ensureFakeVllmExecutable, fakeStarts, fakeVllm } from "../helpers/fake-vllm.js";

const data = path.join(repoRoot, "fixtures", "data");
const answers = path.join(data, "mmmu-pro", "test.jsonl");

beforeAll(ensureFakeVllmExecutable);

/** Is sbatch installed? Its option parser runs without a controller (`-vvv` prints what it read). */
const hasSbatch = (() => {
  try {
    execFileSync("sbatch", ["--version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
})();

function slurmConfig(extra: Record<string, unknown> = {}): SlurmClusterConfig {
  return parseClusterConfig({ executor: "slurm", poll_seconds: 0.01, ...extra }, "test") as SlurmClusterConfig;
}

function settings(outputDir: string, over: Partial<EvalSettings> = {}): EvalSettings {
  return {
    benchmarks: "mmmu-pro:2",
    model: "Qwen/Qwen2.5-VL-7B-Instruct",
    dataDir: data,
    outputDir,
    maxConcurrentRequests: 64,
    overrides: { inference: { tokens_to_generate: 1024 } },
    numChunks: 3,
    rerunDone: false,
    server: {
      kind: "launch",
      type: "vllm",
      gpus: 8,
      nodes: 1,
      args: "--max-model-len 128000 --limit-mm-per-prompt.video 0",
      startTimeoutSeconds: 900,
    },
    progressSeconds: 30,
    ...over,
  };
}

async function context(
  over: Partial<EvalSettings> = {},
  config = slurmConfig(),
): Promise<{ ctx: ScriptContext; out: string }> {
  const out = await tempDir();
  const s = settings(out, over);
  return {
    out,
    ctx: {
      config,
      settings: s,
      jobName: "vlmpipe-test",
      logDir: path.join(out, "eval-logs", "slurm"),
      vlmpipe: "vlmpipe",
    },
  };
}

/** A Slurm stand-in: records commands, answers from a script of replies. */
function fakeSlurm(reply: (cmd: string, args: string[]) => { code?: number; stdout?: string; stderr?: string }) {
  const calls: string[][] = [];
  const run: CommandRunner = async (cmd, args) => {
    calls.push([cmd, ...args]);
    const r = reply(cmd, args);
    return { code: r.code ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  return { run, calls };
}

describe("sbatch scripts", () => {
  it("make one array task per job, each starting the model server on its node through eval_job", async () => {
    const { ctx, out } = await context();
    const plan = await planEval(ctx.settings);
    const jobs = plan.benchmarks[0]!.seeds.flatMap((s) => s.chunks!);
    const script = renderGenerationScript(
      {
        ...ctx,
        config: slurmConfig({
          partition: "gpu",
          account: "acct",
          time: "04:00:00",
          gpus_per_node: 8,
          max_array_parallel: 4,
        }),
      },
      jobs,
      { array: true },
    );
    expect(script.startsWith("#!/bin/bash\n#SBATCH --job-name=vlmpipe-test\n")).toBe(true);
    for (const l of [
      "#SBATCH --partition=gpu",
      "#SBATCH --account=acct",
      "#SBATCH --time=04:00:00",
      "#SBATCH --nodes=1",
      "#SBATCH --gpus-per-node=8",
      "#SBATCH --array=0-5%4",
    ]) {
      expect(script).toContain(`${l}\n`);
    }
    expect(script).toContain(`#SBATCH --output=${out}/eval-logs/slurm/%x-%A_%a.out`);
    expect(script).toContain(
      "  4) JOB=(--job_benchmark mmmu-pro --job_seed 1 --job_chunk 1) ;;  # mmmu-pro rs1 chunk 1/3 (rows 20-40)",
    );
    expect(script).toMatch(
      /# {3}vllm serve Qwen\/Qwen2\.5-VL-7B-Instruct --port <free port> --tensor-parallel-size 8 --served-model-name Qwen\/Qwen2\.5-VL-7B-Instruct --max-model-len 128000 --limit-mm-per-prompt\.video 0\n/,
    );
    const exec = script.split("\n").find((l) => l.startsWith("exec vlmpipe eval_job "))!;
    const words = splitShellWords(exec.replace(' "${JOB[@]}"', ""));
    expect(words).toEqual([
      "exec",
      "vlmpipe",
      "eval_job",
      "--benchmarks",
      "mmmu-pro:2",
      "--model",
      "Qwen/Qwen2.5-VL-7B-Instruct",
      "--data_dir",
      data,
      "--output_dir",
      out,
      "--max_concurrent_requests",
      "64",
      "--progress_seconds",
      "30",
      "--num_chunks",
      "3",
      "--server_type",
      "vllm",
      "--server_gpus",
      "8",
      "--server_nodes",
      "1",
      "--server_args",
      "--max-model-len 128000 --limit-mm-per-prompt.video 0",
      "--server_start_timeout",
      "900",
      "--overrides_json",
      '{"inference":{"tokens_to_generate":1024}}',
      "--cluster_json",
      '{"executor":"slurm"}',
    ]);
  });

  it("put a log folder with a space in double quotes (sbatch splits #SBATCH lines at white space)", async () => {
    const { ctx, out } = await context();
    const plan = await planEval(ctx.settings);
    const jobs = plan.benchmarks[0]!.seeds.flatMap((s) => s.chunks!);
    const spaced = { ...ctx, logDir: path.join(out, "my runs", "slurm") };
    expect(renderGenerationScript(spaced, jobs, { array: true })).toContain(
      `#SBATCH --output="${path.join(out, "my runs", "slurm")}/%x-%A_%a.out"\n`,
    );
    expect(renderGenerationScript(spaced, jobs.slice(0, 1), { array: false })).toContain(
      `#SBATCH --output="${path.join(out, "my runs", "slurm")}/%x-%j.out"\n`,
    );
    expect(renderMergeScript(spaced)).toContain(`#SBATCH --output="${path.join(out, "my runs", "slurm")}/%x-%j.out"\n`);
    expect(renderMergeScript(ctx)).toContain(`#SBATCH --output=${ctx.logDir}/%x-%j.out\n`);
  });

  it("carry the cluster config's set-up lines, environment and server command, but never the API key", async () => {
    const config = slurmConfig({
      setup: ["module load cuda/12.4", "source /venv/bin/activate"],
      env_vars: { HF_HOME: "/shared/hf cache", N: 2 },
      vllm_command: "apptainer exec --nv /img/vllm.sif vllm",
      sbatch_args: ["--exclusive", "--constraint=h100"],
      cpus_per_task: 16,
      mem: "0",
    });
    const { ctx } = await context({}, config);
    const plan = await planEval(ctx.settings);
    const script = renderGenerationScript(ctx, [plan.benchmarks[0]!.seeds[0]!.chunks![0]!], { array: false });
    expect(script).toContain("#SBATCH --exclusive\n#SBATCH --constraint=h100\n");
    expect(script).toContain("#SBATCH --cpus-per-task=16\n#SBATCH --mem=0\n");
    expect(script).toContain("module load cuda/12.4\nsource /venv/bin/activate\n");
    expect(script).toContain(
      "export HF_HOME='/shared/hf cache'\nexport N=2\nexport VLMPIPE_VLLM_BIN='apptainer exec --nv /img/vllm.sif vllm'\n",
    );
    expect(script).toContain("#   apptainer exec --nv /img/vllm.sif vllm serve ");
    expect(script).toContain("JOB=(--job_benchmark mmmu-pro --job_seed 0 --job_chunk 0)");
    expect(script).not.toContain("--array");
    expect(script).not.toMatch(/api_key|OPENAI_API_KEY/);
    const merge = renderMergeScript(ctx);
    expect(merge).toContain("#SBATCH --job-name=vlmpipe-test-merge\n");
    expect(merge).not.toContain("--gpus-per-node");
    expect(merge).toMatch(/\nexec vlmpipe eval_merge --benchmarks mmmu-pro:2 .*--num_chunks 3/);
  });

  it("ask for no GPUs on a cluster without GPU gres, and refuse more GPUs than a node has", async () => {
    const { ctx } = await context();
    const plan = await planEval(ctx.settings);
    const jobs = plan.benchmarks[0]!.seeds[0]!.chunks!;
    expect(
      renderGenerationScript({ ...ctx, config: slurmConfig({ gpus_per_node: 0 }) }, jobs, { array: true }),
    ).not.toContain("--gpus-per-node");
    expect(() =>
      renderGenerationScript({ ...ctx, config: slurmConfig({ gpus_per_node: 4 }) }, jobs, { array: true }),
    ).toThrow(/--server_gpus 8 is more than the 4 GPUs of a node/);
  });

  it("span nodes: a Ray cluster for vLLM, worker ranks for SGLang", async () => {
    const vllm = await context({
      server: { kind: "launch", type: "vllm", gpus: 8, nodes: 2, args: "", startTimeoutSeconds: 60 },
    });
    const plan = await planEval(vllm.ctx.settings);
    const jobs = plan.benchmarks[0]!.seeds[0]!.chunks!;
    const v = renderGenerationScript(vllm.ctx, jobs, { array: true });
    expect(v).toContain("#SBATCH --nodes=2\n");
    expect(v).toContain("ray start --head --port=6379 --num-gpus=8 --block &");
    expect(v).toContain(
      'srun --nodes=1 --ntasks=1 --ntasks-per-node=1 --exclude="$head" ray start --address="$head:6379"',
    );
    expect(v).toContain("--pipeline-parallel-size 2 --distributed-executor-backend ray");
    expect(v).not.toMatch(/\nexec /);
    const sg = await context({
      server: {
        kind: "launch",
        type: "sglang",
        gpus: 8,
        nodes: 3,
        args: "--mem-fraction-static 0.8",
        startTimeoutSeconds: 60,
      },
    });
    const s = renderGenerationScript(sg.ctx, jobs, { array: true });
    expect(s).toContain(
      '  srun --nodes=1 --ntasks=1 -w "${nodes[$r]}" python -m sglang.launch_server --model-path Qwen/Qwen2.5-VL-7B-Instruct --port 30000 --tp 24 --nnodes 3 --node-rank $r --dist-init-addr "$head:5757" --mem-fraction-static 0.8 &',
    );
    expect(s).toContain('export VLMPIPE_SGLANG_DIST_INIT_ADDR="$head:5757"');
  });

  it("name the running servers and the simulator when nothing is started", async () => {
    const running = await context({
      server: { kind: "running", type: "vllm", addresses: ["http://h1:8000/v1", "http://h2:8000/v1"] },
    });
    const plan = await planEval(running.ctx.settings);
    const jobs = plan.benchmarks[0]!.seeds[0]!.chunks!;
    const r = renderGenerationScript({ ...running.ctx, config: slurmConfig({ gpus_per_node: 8 }) }, jobs, {
      array: true,
    });
    expect(r).not.toContain("--gpus-per-node");
    expect(r).toContain("--server_type vllm --server_address http://h1:8000/v1 --server_address http://h2:8000/v1");
    const simCtx = await context({
      server: { kind: "sim", sim: { sim_accuracy: 0.5, sim_latency_ms: 0, sim_seed: 3 } },
    });
    expect(renderGenerationScript(simCtx.ctx, jobs, { array: true })).toContain(
      "--server_type sim --sim_accuracy 0.5 --sim_latency_ms 0 --sim_seed 3",
    );
  });
});

describe("what the scripts say and carry", () => {
  it("keep line breaks in --server_args, the model or the folders inside their comments: bash runs the script as meant", async () => {
    const template = "{% for m in messages %}{{ m.content }}\n{% endfor %}";
    const root = await tempDir();
    const { ctx } = await context({
      benchmarks: "mmmu-pro",
      numChunks: 1,
      model: "my-model\nexit 43",
      outputDir: path.join(root, "run\nexit 42"),
      server: {
        kind: "launch",
        type: "vllm",
        gpus: 1,
        nodes: 1,
        args: `--max-model-len 4096 --chat-template '${template}'`,
        startTimeoutSeconds: 60,
      },
    });
    const plan = await planEval(ctx.settings);
    // eval_job stands in for a command that prints the words it was given.
    const printArgs = quoteShell([
      process.execPath,
      "-e",
      "process.stdout.write(JSON.stringify(process.argv.slice(1)))",
    ]);
    const script = renderGenerationScript({ ...ctx, vlmpipe: printArgs }, [plan.benchmarks[0]!.seeds[0]!.whole], {
      array: true,
    });
    const file = path.join(root, "gen.sbatch");
    await writeFile(file, script);
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile("bash", [file], { env: { ...process.env, SLURM_ARRAY_TASK_ID: "0" } }, (e, stdout, stderr) =>
        resolve({ code: e ? Number(e.code) : 0, stdout, stderr }),
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    const argv = JSON.parse(r.stdout) as string[];
    expect(argv[0]).toBe("eval_job");
    expect(argv[argv.indexOf("--server_args") + 1]).toBe(`--max-model-len 4096 --chat-template '${template}'`);
    expect(argv[argv.indexOf("--model") + 1]).toBe("my-model\nexit 43");
    expect(argv.slice(-2)).toEqual(["--job_benchmark", "mmmu-pro"]);
    // The comment shows the server command as bash would read it, on one line.
    expect(script).toContain(
      "#   vllm serve $'my-model\\nexit 43' --port <free port> --tensor-parallel-size 1 --served-model-name $'my-model\\nexit 43' --max-model-len 4096 --chat-template $'{% for m in messages %}{{ m.content }}\\n{% endfor %}'\n",
    );
    // A line break in an #SBATCH option would make the rest of it shell commands.
    expect(() =>
      renderGenerationScript(
        { ...ctx, config: slurmConfig({ partition: "gpu\nexit 44" }) },
        [plan.benchmarks[0]!.seeds[0]!.whole],
        { array: true },
      ),
    ).toThrow(/an sbatch option cannot hold a line break/);
  });

  it("write log paths with #, %, quotes and spaces as sbatch reads them back exactly, and refuse a backslash", () => {
    expect(sbatchPath("/o/run#2", "%x-%j.out")).toBe('"/o/run#2/%x-%j.out"');
    expect(sbatchPath("/o/50%", "%x-%j.out")).toBe("/o/50%%/%x-%j.out");
    expect(sbatchPath(`/o/a "b" 'c'`, "%x-%A_%a.out")).toBe(`"/o/a \\"b\\" 'c'/%x-%A_%a.out"`);
    expect(sbatchPath("/o/plain", "%x-%j.out")).toBe("/o/plain/%x-%j.out");
    // slurmstepd drops the backslashes of a path that has one, and then expands no %-pattern.
    expect(() => sbatchPath("/o/a\\b", "%x-%j.out")).toThrow(/backslash[\s\S]*log_dir/);
    expect(() => sbatchPath("/o/a\nb", "%x-%j.out")).toThrow(/line break/);
  });

  it.skipIf(!hasSbatch)(
    "write log paths that the real sbatch reads as they are (sbatch -vvv --test-only)",
    async (t) => {
      const root = await tempDir();
      const { ctx } = await context();
      for (const dir of [path.join(root, "runs#2", "50%"), path.join(root, `my "q" it's #3`, "slurm")]) {
        const file = path.join(root, "merge.sbatch");
        await writeFile(file, renderMergeScript({ ...ctx, logDir: dir }));
        const { read, parsed, stderr } = await sbatchOutputOption(file);
        // An sbatch that cannot even start (no slurm.conf, say) has nothing to tell.
        if (!parsed) return t.skip(`sbatch printed no options: ${stderr.split("\n")[0]}`);
        expect(read).toBe(`${dir.replaceAll("%", "%%")}/%x-%j.out`);
        // What slurmstepd then makes of it: %% is %, %x and %j the job's name and id.
        expect(read!.replace("%x-%j.out", "").replaceAll("%%", "%")).toBe(`${dir}/`);
      }
    },
  );

  it("keep secret --server_args (--api-key) out of every script and command line: the jobs get them through sbatch's environment", async () => {
    const secret = "sk-server-key-do-not-leak-42";
    const out = await tempDir();
    const s = settings(out, {
      benchmarks: "mmmu-pro",
      numChunks: 2,
      server: {
        kind: "launch",
        type: "vllm",
        gpus: 1,
        nodes: 1,
        args: `--max-model-len 4096 --api-key ${secret} --enable-prefix-caching`,
        startTimeoutSeconds: 60,
      },
    });
    const envs: (NodeJS.ProcessEnv | undefined)[] = [];
    const files: string[] = [];
    const run: CommandRunner = async (cmd, args, env) => {
      if (cmd === "sbatch") {
        envs.push(env);
        files.push(args[args.length - 1]!);
      }
      return { code: 0, stdout: cmd === "sbatch" ? "7\n" : "", stderr: "" };
    };
    const written: string[] = [];
    const base = { config: slurmConfig(), clusterName: "t", wait: false, log: () => {}, run };
    await runSlurmEval(s, { ...base, dryRun: true, write: (t) => written.push(t) });
    expect(written.join("")).not.toContain(secret);
    expect(written.join("")).toContain("--api-key '***'");
    await runSlurmEval(s, { ...base, dryRun: false, write: () => {}, apiKey: "sk-client" });
    expect(files).toHaveLength(2);
    const [gen, merge] = await Promise.all(files.map((f) => readFile(f, "utf8")));
    for (const text of [gen!, merge!]) expect(text).not.toContain(secret);
    const exec = gen!.split("\n").find((l) => l.startsWith("exec "))!;
    const words = splitShellWords(exec.replace(' "${JOB[@]}"', ""));
    expect(words[words.indexOf("--server_args") + 1]).toBe("--max-model-len 4096 --enable-prefix-caching");
    // The job is told which secret flags to expect (by name), so that it stops if they do not come.
    expect(words[words.indexOf("--server_secret_flags") + 1]).toBe("api-key");
    // The merge job starts no server: no server args at all.
    expect(merge).toMatch(/\nexec vlmpipe eval_merge |eval_merge /);
    expect(merge).not.toContain("--server_args");
    for (const env of envs) {
      expect(env?.VLMPIPE_SERVER_SECRET_ARGS).toBe(`--api-key ${secret}`);
      expect(env?.OPENAI_API_KEY).toBe("sk-client");
    }
  });

  it("run each job with the cluster config it was submitted with, not one it finds where it runs", async () => {
    const out = await tempDir();
    const argsFile = path.join(out, "starts.jsonl");
    const decoyArgs = path.join(out, "decoy-starts.jsonl");
    // What a job would find by itself: $VLMPIPE_CLUSTER_CONFIG (or ./cluster_configs/local.yaml
    // in the folder it was submitted from), a workstation's config.
    const decoy = path.join(out, "local.yaml");
    await writeFile(
      decoy,
      `executor: local\nvllm_command: /nonexistent/workstation/vllm\nenv_vars:\n  FAKE_VLLM_ARGS_FILE: ${decoyArgs}\n`,
    );
    const config = slurmConfig({
      vllm_command: fakeVllm,
      env_vars: { FAKE_VLLM_ARGS_FILE: argsFile, FAKE_VLLM_ANSWERS: answers },
    });
    const s = settings(out, {
      benchmarks: "mmmu-pro",
      numChunks: 3,
      maxConcurrentRequests: 8,
      server: {
        kind: "launch",
        type: "vllm",
        gpus: 1,
        nodes: 1,
        args: "--max-model-len 32768 --api-key sk-job-key-1",
        startTimeoutSeconds: 60,
      },
    });
    const plan = await planEval(s);
    const job = plan.benchmarks[0]!.seeds[0]!.chunks![0]!;
    const ctx: ScriptContext = {
      config,
      settings: s,
      jobName: "t",
      logDir: path.join(out, "slurm"),
      vlmpipe: "vlmpipe",
    };
    const script = renderGenerationScript(ctx, [job], { array: false });
    // The job as Slurm runs it: the script's exports and sbatch's environment, then its eval_job line.
    const env: Record<string, string> = {
      VLMPIPE_CLUSTER_CONFIG: decoy,
      VLMPIPE_SERVER_SECRET_ARGS: "--api-key sk-job-key-1",
    };
    for (const l of script.split("\n").filter((x) => x.startsWith("export "))) {
      const [k, ...v] = l.slice("export ".length).split("=");
      env[k!] = splitShellWords(v.join("="))[0]!;
    }
    const exec = script.split("\n").find((l) => l.startsWith("exec vlmpipe eval_job "))!;
    const words = splitShellWords(exec.replace(' "${JOB[@]}"', "")).slice(2);
    const runJob = async (jobEnv: Record<string, string>) => {
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
      Object.assign(process.env, jobEnv);
      try {
        return await cli([...words, ...jobSelector(job)]);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    };
    const r = await runJob(env);
    expect(r.code, r.stderr).toBe(0);
    expect(await fakeStarts(decoyArgs)).toEqual([]);
    const starts = await fakeStarts(argsFile);
    expect(starts).toHaveLength(1);
    // The secret server flag came through the environment, and reached vLLM in its own
    // (VLLM_API_KEY), not on its command line.
    expect(starts[0]!.argv.slice(-2)).toEqual(["--max-model-len", "32768"]);
    expect(starts[0]!.argv).not.toContain("sk-job-key-1");
    expect(starts[0]!.vllm_api_key).toBe("sk-job-key-1");
    expect(r.stderr).not.toContain("sk-job-key-1");
    // Without them (sbatch told not to pass the environment on), the server is not started keyless.
    const { VLMPIPE_SERVER_SECRET_ARGS: _, ...noSecrets } = env;
    const bare = await runJob(noSecrets);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/the server's --api-key did not reach this job/);
    expect(await fakeStarts(argsFile)).toHaveLength(1);
  });
});

/** The --output value sbatch reads from a script's #SBATCH lines (it prints them with -vvv). */
function sbatchOutputOption(file: string): Promise<{ read?: string; parsed: boolean; stderr: string }> {
  return new Promise((resolve) => {
    // --test-only: nothing is submitted; without a controller sbatch retries to reach one, so
    // it is stopped once it has printed the options.
    const child = spawn("sbatch", ["-vvv", "--test-only", file], { stdio: ["ignore", "ignore", "pipe"] });
    let text = "";
    let value: string | undefined;
    child.stderr.on("data", (b: Buffer) => {
      text += b.toString();
      value ??= /^sbatch: output\s+: (.*)$/m.exec(text)?.[1];
      if (/end of defined options/.test(text)) child.kill("SIGKILL");
    });
    child.on("close", () => resolve({ read: value, parsed: /end of defined options/.test(text), stderr: text }));
  });
}

describe("Slurm commands", () => {
  it("read squeue's array tasks and scontrol's final states", async () => {
    const { run } = fakeSlurm((cmd, args) => {
      if (cmd === "squeue") return { stdout: "12_0|RUNNING|None\n12_1|PENDING|Resources\n13|PENDING|Dependency\n" };
      if (cmd === "scontrol" && args[3] === "12") {
        return {
          stdout:
            "JobId=14 ArrayJobId=12 ArrayTaskId=0 JobName=x JobState=COMPLETED Reason=None ExitCode=0:0 StdOut=/l/x-12_0.out\n" +
            "JobId=12 ArrayJobId=12 ArrayTaskId=1 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0 StdOut=/l/x-12_1.out\n",
        };
      }
      if (cmd === "sacct") return { stdout: "13|CANCELLED by 0|0:0\n" };
      return { code: 1, stderr: "slurm_load_jobs error: Invalid job id specified" };
    });
    const q = await queueStates(run, ["12", "13"]);
    expect([...q!]).toEqual([
      ["12_0", { state: "RUNNING", reason: "None" }],
      ["12_1", { state: "PENDING", reason: "Resources" }],
      ["13", { state: "PENDING", reason: "Dependency" }],
    ]);
    const f = await finalStates(run, ["12", "13"]);
    const gone = fakeSlurm(() => ({ code: 1, stderr: "slurm_load_jobs error: Invalid job id specified" }));
    expect((await queueStates(gone.run, ["9"]))?.size).toBe(0);
    const busy = fakeSlurm(() => ({
      code: 1,
      stderr: "slurm_load_jobs error: Socket timed out on send/recv operation",
    }));
    expect(await queueStates(busy.run, ["9"])).toBeNull();
    expect(f.get("12_0")).toMatchObject({ state: "COMPLETED", exitCode: "0:0" });
    expect(f.get("12_1")).toMatchObject({ state: "FAILED", exitCode: "1:0", stdout: "/l/x-12_1.out" });
    expect(f.get("13")).toMatchObject({ state: "CANCELLED" });
  });
});

describe("runSlurmEval", () => {
  it("submits the job array, then the merge job after it (afterany), and says where the logs go", async () => {
    const out = await tempDir();
    const { run, calls } = fakeSlurm((cmd) =>
      cmd === "sbatch" ? { stdout: calls.length < 3 ? "101\n" : "102;cluster\n" } : {},
    );
    const written: string[] = [];
    const r = await runSlurmEval(settings(out), {
      config: slurmConfig(),
      clusterName: "t",
      dryRun: false,
      wait: false,
      log: () => {},
      write: (t) => written.push(t),
      run,
    });
    expect(r).toMatchObject({ status: "submitted", jobIds: ["101", "102"] });
    expect(calls[0]).toEqual([
      "squeue",
      "-h",
      "-o",
      "%i",
      "-n",
      expect.stringMatching(/^vlmpipe-[0-9a-f]{8},vlmpipe-[0-9a-f]{8}-merge$/),
    ]);
    const [, gen, merge] = calls;
    expect(gen!.slice(0, 2)).toEqual(["sbatch", "--parsable"]);
    expect(merge!.slice(0, 4)).toEqual([
      "sbatch",
      "--parsable",
      "--dependency=afterany:101",
      "--kill-on-invalid-dep=yes",
    ]);
    const script = await readFile(gen![2]!, "utf8");
    expect(script).toContain("#SBATCH --array=0-5\n");
    expect(await readFile(merge![4]!, "utf8")).toContain(" eval_merge ");
    const text = written.join("");
    expect(text).toMatch(/generation: job array 101 with 6 task\(s\): mmmu-pro rs0 chunk 0\/3 \(rows 0-20\), /);
    expect(text).toMatch(/merge and summarize: job 102, after 101 succeed/);
    expect(text).toContain(`Slurm logs: ${out}/eval-logs/slurm/vlmpipe-`);
    expect(text).toMatch(/-101_<task>\.out/);
  });

  it("hands --api_key to the jobs through sbatch's environment, never through a script", async () => {
    const envs: (NodeJS.ProcessEnv | undefined)[] = [];
    const files: string[] = [];
    const run: CommandRunner = async (cmd, args, env) => {
      if (cmd === "sbatch") {
        envs.push(env);
        files.push(args[args.length - 1]!);
      }
      return { code: 0, stdout: cmd === "sbatch" ? "7\n" : "", stderr: "" };
    };
    const secret = "sk-test-do-not-leak-123";
    await runSlurmEval(settings(await tempDir()), {
      config: slurmConfig(),
      clusterName: "t",
      dryRun: false,
      wait: false,
      log: () => {},
      write: () => {},
      run,
      apiKey: secret,
    });
    expect(envs.map((e) => e?.OPENAI_API_KEY)).toEqual([secret, secret]);
    for (const f of files) expect(await readFile(f, "utf8")).not.toContain(secret);
  });

  it("submits one job per chunk when job arrays are off, the merge job after all of them", async () => {
    const out = await tempDir();
    let id = 200;
    const { run, calls } = fakeSlurm((cmd) => (cmd === "sbatch" ? { stdout: `${id++}\n` } : {}));
    await runSlurmEval(settings(out, { benchmarks: "mmmu-pro" }), {
      config: slurmConfig({ job_array: false }),
      clusterName: "t",
      dryRun: false,
      wait: false,
      log: () => {},
      write: () => {},
      run,
    });
    const sb = calls.filter((c) => c[0] === "sbatch");
    expect(sb).toHaveLength(4);
    expect(sb[3]).toContain("--dependency=afterany:200:201:202");
  });

  it("prints the scripts with --dry_run and runs no Slurm command", async () => {
    const { run, calls } = fakeSlurm(() => ({}));
    const written: string[] = [];
    const r = await runSlurmEval(settings(await tempDir()), {
      config: slurmConfig(),
      clusterName: "t",
      dryRun: true,
      wait: false,
      log: () => {},
      write: (t) => written.push(t),
      run,
    });
    expect(r.status).toBe("dry-run");
    expect(calls).toEqual([]);
    const text = written.join("");
    expect(text.match(/^#!\/bin\/bash$/gm)).toHaveLength(2);
    expect(text).toMatch(
      /# ==== .*-merge\.sbatch {2}\(sbatch --parsable --dependency=afterany:<generation job ids> --kill-on-invalid-dep=yes /,
    );
  });

  it("refuses only a resubmission of the same eval while its jobs are queued, not another eval into the same --output_dir", async () => {
    const out = await tempDir();
    const queue: { id: string; name: string }[] = [];
    const run: CommandRunner = async (cmd, args) => {
      if (cmd === "sbatch") {
        const name = /--job-name=(\S+)/.exec(await readFile(args[args.length - 1]!, "utf8"))![1]!;
        const id = String(500 + queue.length);
        queue.push({ id, name });
        return { code: 0, stdout: `${id}\n`, stderr: "" };
      }
      if (cmd === "squeue") {
        const names = args[args.indexOf("-n") + 1]!.split(",");
        const ids = queue.filter((q) => names.includes(q.name)).map((q) => q.id);
        return { code: 0, stdout: ids.join("\n"), stderr: "" };
      }
      return { code: 0, stdout: "", stderr: "" };
    };
    const submit = (benchmarks: string) =>
      runSlurmEval(settings(out, { benchmarks, numChunks: 1 }), {
        config: slurmConfig(),
        clusterName: "t",
        dryRun: false,
        wait: false,
        log: () => {},
        write: () => {},
        run,
      });
    await expect(submit("mmmu-pro:2")).resolves.toMatchObject({ status: "submitted" });
    // Other benchmarks into the same folder: other outputs, other jobs.
    await expect(submit("chartqa,mmmu")).resolves.toMatchObject({ status: "submitted" });
    await expect(submit("docvqa")).resolves.toMatchObject({ status: "submitted" });
    // The same evals again (the order of --benchmarks aside) while they are queued: refused.
    await expect(submit("mmmu-pro:2")).rejects.toThrow(/already queued or running: 500, 501/);
    await expect(submit("mmmu,chartqa")).rejects.toThrow(/already queued or running: 502, 503/);
  });

  it("refuses a second submission while the first one's jobs are queued", async () => {
    const { run, calls } = fakeSlurm((cmd) => (cmd === "squeue" ? { stdout: "301\n302\n" } : {}));
    await expect(
      runSlurmEval(settings(await tempDir()), {
        config: slurmConfig(),
        clusterName: "t",
        dryRun: false,
        wait: false,
        log: () => {},
        write: () => {},
        run,
      }),
    ).rejects.toThrow(/already queued or running: 301, 302.*scancel 301 302/);
    expect(calls.some((c) => c[0] === "sbatch")).toBe(false);
  });

  it("with --wait, reports the failed tasks and their logs when the merge job is cancelled", async () => {
    const out = await tempDir();
    let polls = 0;
    const { run, calls } = fakeSlurm((cmd, args) => {
      if (cmd === "sbatch") return { stdout: args.some((a) => a.startsWith("--dependency")) ? "51\n" : "50\n" };
      if (cmd === "squeue" && args.includes("%i|%T|%r")) {
        polls++;
        return polls === 1
          ? { stdout: "50_0|RUNNING|None\n50_1|RUNNING|None\n51|PENDING|Dependency\n" }
          : { stdout: "51|PENDING|DependencyNeverSatisfied\n" };
      }
      if (cmd === "scontrol" && args[3] === "50") {
        return {
          stdout:
            "JobId=52 ArrayJobId=50 ArrayTaskId=0 JobState=COMPLETED ExitCode=0:0\nJobId=50 ArrayJobId=50 ArrayTaskId=1 JobState=FAILED ExitCode=1:0\n",
        };
      }
      if (cmd === "scontrol" && args[3] === "51")
        return { stdout: "JobId=51 JobState=CANCELLED Reason=DependencyNeverSatisfied ExitCode=0:0\n" };
      return {};
    });
    const logs: string[] = [];
    const err = await runSlurmEval(settings(out, { benchmarks: "mmmu-pro", numChunks: 2 }), {
      config: slurmConfig(),
      clusterName: "t",
      dryRun: false,
      wait: true,
      log: (l) => logs.push(l),
      write: () => {},
      run,
    }).catch((e: Error) => e);
    expect(calls).toContainEqual(["scancel", "51"]);
    expect((err as Error).message).toMatch(
      /the merge job 51 ended CANCELLED:\n {2}job 50_1 \(mmmu-pro greedy chunk 1\/2 \(rows 30-60\)\): FAILED exit 1:0; logs: .*-50_1\.out, .*mmmu-pro-output_chunk_1\.log/,
    );
    expect((err as Error).message).not.toMatch(/job 50_0/);
    expect(logs.join("\n")).toMatch(/slurm: generation 2 running; merge job pending/);
  });

  it("stops waiting on Ctrl-C and says the jobs keep running", async () => {
    const ac = new AbortController();
    const { run } = fakeSlurm((cmd, args) => {
      if (cmd === "sbatch") return { stdout: args.some((a) => a.startsWith("--dependency")) ? "61\n" : "60\n" };
      if (cmd === "squeue" && !args.includes("-n")) {
        setTimeout(() => ac.abort(), 5);
        return { stdout: "60_0|RUNNING|None\n61|PENDING|Dependency\n" };
      }
      return {};
    });
    const logs: string[] = [];
    const r = await runSlurmEval(settings(await tempDir(), { benchmarks: "mmmu-pro", numChunks: 1 }), {
      config: slurmConfig({ poll_seconds: 5 }),
      clusterName: "t",
      dryRun: false,
      wait: true,
      log: (l) => logs.push(l),
      write: () => {},
      stop: ac.signal,
      run,
    });
    expect(r.status).toBe("interrupted");
    expect(logs.join("\n")).toMatch(
      /stopped waiting; the jobs keep running \(squeue -j 60,61; scancel 60 61 stops them\)/,
    );
  });
});
