import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadClusterConfig, parseClusterConfig } from "../../src/cluster/config.js";
import { repoRoot } from "../helpers/bin.js";
import { tempDir } from "../helpers/dataset.js";

describe("cluster configs", () => {
  it("validates the shipped example (found by name in the package's cluster_configs/)", async () => {
    const c = await loadClusterConfig("example-slurm", { cwd: await tempDir(), env: {} });
    expect(c.file).toBe(path.join(repoRoot, "cluster_configs", "example-slurm.yaml"));
    expect(c.config).toMatchObject({
      executor: "slurm",
      partition: "batch",
      gpus_per_node: 8,
      job_array: true,
      ray_command: "ray",
      vllm_command: "apptainer exec --nv --bind /shared /shared/images/vllm-0.11.sif vllm",
    });
  });

  it("fills defaults from the schema and has local and slurm built in", async () => {
    const env = {};
    const cwd = await tempDir();
    expect((await loadClusterConfig(undefined, { cwd, env })).config).toEqual({ executor: "local", env_vars: {} });
    const slurm = (await loadClusterConfig("slurm", { cwd, env })).config;
    expect(slurm).toMatchObject({
      executor: "slurm",
      job_array: true,
      poll_seconds: 30,
      sbatch_args: [],
      setup: [],
      job_name_prefix: "vlmpipe",
    });
  });

  it("names an unknown key, a bad value and a bad executor", () => {
    expect(() => parseClusterConfig({ executor: "slurm", partiton: "x" }, "c.yaml")).toThrow(
      /cluster config c\.yaml: unknown key partiton \(known: executor, env_vars, .*partition/,
    );
    expect(() => parseClusterConfig({ executor: "slurm", time: "4 hours" }, "c.yaml")).toThrow(
      /time: a Slurm time limit/,
    );
    expect(() => parseClusterConfig({ executor: "pbs" }, "c.yaml")).toThrow(/executor: must be "local" or "slurm"/);
    expect(() => parseClusterConfig({ executor: "local", partition: "x" }, "c.yaml")).toThrow(/unknown key partition/);
    expect(() => parseClusterConfig({ executor: "slurm", env_vars: { "A-B": "1" } }, "c.yaml")).toThrow(/env_vars/);
    // A poll past a Node timer's limit would fire every millisecond.
    expect(() => parseClusterConfig({ executor: "slurm", poll_seconds: 3e6 }, "c.yaml")).toThrow(
      /poll_seconds: at most 2147483 seconds/,
    );
  });

  it("finds NAME in ./cluster_configs/, in $VLMPIPE_CLUSTER_CONFIG (a folder), or takes a .yaml path", async () => {
    const cwd = await tempDir();
    await mkdir(path.join(cwd, "cluster_configs"));
    await writeFile(path.join(cwd, "cluster_configs", "mine.yaml"), "executor: slurm\npartition: p1\n");
    expect((await loadClusterConfig("mine", { cwd, env: {} })).config).toMatchObject({ partition: "p1" });
    const dir = await tempDir();
    await writeFile(path.join(dir, "mine.yaml"), "executor: slurm\npartition: p2\n");
    expect((await loadClusterConfig("mine", { cwd, env: { VLMPIPE_CLUSTER_CONFIG: dir } })).config).toMatchObject({
      partition: "p2",
    });
    expect((await loadClusterConfig(path.join(dir, "mine.yaml"), { cwd, env: {} })).config).toMatchObject({
      partition: "p2",
    });
    await expect(loadClusterConfig("nope", { cwd, env: {} })).rejects.toThrow(
      /--cluster nope: no cluster config found; looked for .*cluster_configs\/nope\.yaml/,
    );
  });

  it("uses $VLMPIPE_CLUSTER_CONFIG (a file) when --cluster is not given", async () => {
    const dir = await tempDir();
    const f = path.join(dir, "site.yaml");
    await writeFile(f, "executor: local\nmax_parallel_jobs: 3\nenv_vars: {A: 1}\n");
    const c = await loadClusterConfig(undefined, { cwd: dir, env: { VLMPIPE_CLUSTER_CONFIG: f } });
    expect(c).toMatchObject({
      name: "site",
      file: f,
      config: { executor: "local", max_parallel_jobs: 3, env_vars: { A: 1 } },
    });
    await writeFile(f, "executor: local\n  bad: [\n");
    await expect(loadClusterConfig(undefined, { cwd: dir, env: { VLMPIPE_CLUSTER_CONFIG: f } })).rejects.toThrow(
      /not valid YAML/,
    );
  });
});
