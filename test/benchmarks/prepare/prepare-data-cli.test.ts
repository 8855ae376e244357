import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import type { CliContext } from "../../../src/cli/context.js";
import { registerPrepareData } from "../../../src/cli/prepare-data.js";
import { type FakeHub, startFakeHub } from "../../helpers/fake-hub.js";

const TOKEN = "hf_cliTokenNeverPrinted";
let hub: FakeHub;
let dataDir: string;

beforeAll(async () => {
  hub = await startFakeHub({ root: "fixtures/hub", token: TOKEN });
  dataDir = await mkdtemp(join(tmpdir(), "vlmpipe-cli-"));
});
afterAll(async () => {
  await hub.close();
  await rm(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A program with only prepare_data, its output captured, errors thrown instead of exiting. */
function cli(env: Record<string, string | undefined> = {}) {
  for (const [k, v] of Object.entries({
    HF_ENDPOINT: hub.url,
    HF_TOKEN: TOKEN,
    NEMO_SKILLS_DATA_DIR: undefined,
    ...env,
  })) {
    vi.stubEnv(k, v);
  }
  const out = { stdout: "", stderr: "" };
  const stderr = new PassThrough();
  stderr.on("data", (c) => (out.stderr += c));
  const ctx: Partial<CliContext> = { stderr, exitCode: 0, handleSignals: false };
  const program = new Command("vlmpipe")
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out.stdout += s), writeErr: (s) => (out.stderr += s) });
  registerPrepareData(program, ctx);
  const run = (...args: string[]) => program.parseAsync(["prepare_data", ...args], { from: "user" });
  return { program, ctx, out, run };
}

describe("vlmpipe prepare_data", () => {
  test("prepares mmmu-pro --config standard-4 with HF_ENDPOINT and HF_TOKEN from the environment", async () => {
    const { ctx, out, run } = cli();
    await run("mmmu-pro", "--data_dir", dataDir, "--config", "standard-4", "--progress_seconds", "0");
    expect(ctx.exitCode).toBe(0);
    const lines = (await readFile(join(dataDir, "mmmu-pro-standard-4", "test.jsonl"), "utf8")).trim().split("\n");
    expect(lines).toHaveLength(60);
    expect(JSON.parse(lines[0]!).options).toHaveLength(4);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain("[mmmu-pro] standard-4: 60 rows");
    expect(out.stderr).not.toContain(TOKEN);
    for (const r of hub.requests.filter((x) => x.server === "hub")) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test("takes --hub_url over HF_ENDPOINT and --cache_dir for the shards", async () => {
    const cache = join(dataDir, "shards");
    const { ctx, run } = cli({ HF_ENDPOINT: "http://127.0.0.1:9" });
    await run("mmmu-pro", "--data_dir", dataDir, "--hub_url", hub.url, "--cache_dir", cache);
    expect(ctx.exitCode).toBe(0);
    // Each shard beside the checksum it was verified against.
    expect((await readdir(join(cache, "datasets", "MMMU", "MMMU_Pro", "main", "vision"))).sort()).toEqual([
      "test-00000-of-00002.parquet",
      "test-00000-of-00002.parquet.checksum",
      "test-00001-of-00002.parquet",
      "test-00001-of-00002.parquet.checksum",
    ]);
  });

  test("rejects an unknown benchmark, naming the known ones", async () => {
    const { run } = cli();
    await expect(run("mmmu-pro-2", "--data_dir", dataDir)).rejects.toMatchObject({
      code: "VLM_E_USAGE",
      message: expect.stringMatching(/unknown benchmark "mmmu-pro-2"; known: mmmu, mmmu-pro, chartqa, docvqa/),
    });
  });

  test("rejects an unknown --config with the allowed choices", async () => {
    const { run, out } = cli();
    await expect(run("mmmu-pro", "--data_dir", dataDir, "--config", "standard-7")).rejects.toMatchObject({
      code: "VLM_E_USAGE",
      message: expect.stringMatching(/"standard-7" is not one of vision, standard-10, standard-4, all/),
    });
    expect(out.stderr).toBe("");
  });

  test("requires --data_dir unless NEMO_SKILLS_DATA_DIR is set", async () => {
    await expect(cli().run("mmmu-pro")).rejects.toMatchObject({
      code: "VLM_E_USAGE",
      message: expect.stringMatching(/--data_dir/),
    });
    const withEnv = cli({ NEMO_SKILLS_DATA_DIR: dataDir });
    await withEnv.run("mmmu-pro", "--config", "vision");
    expect(withEnv.ctx.exitCode).toBe(0);
  });

  test("describes every flag with its default in --help", () => {
    const { program } = cli();
    const help = program.commands[0]!.helpInformation().replace(/\s+/g, " ");
    for (const s of [
      "--data_dir <dir>",
      "unless $NEMO_SKILLS_DATA_DIR is set",
      "--config <name>",
      "(default: the benchmark's first)",
      "mmmu-pro: vision -> mmmu-pro/",
      "mmmu: validation|dev|test",
      "--revision <rev>",
      '(default: "main")',
      "--repo <owner/name>",
      "mmmu-pro: MMMU/MMMU_Pro",
      "chartqa: HuggingFaceM4/ChartQA",
      "docvqa: lmms-lab/DocVQA",
      "--cache_dir <dir>",
      "--hub_url <url>",
      "--progress_seconds <s>",
    ]) {
      expect(help).toContain(s);
    }
  });
});
