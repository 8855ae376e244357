import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runOverrides } from "../../src/cluster/eval-run.js";
import { parseBenchmarks } from "../../src/run/benchmark-spec.js";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { cli, parseLines, tempDir } from "../helpers/dataset.js";

const data = path.join(repoRoot, "fixtures", "data");
/** `eval` of `benchmarks` on the fixture data, model "m", into a fresh output folder, then `more`. */
const evalOn = async (benchmarks: string, ...more: string[]) => [
  "eval",
  "--benchmarks",
  benchmarks,
  "--model",
  "m",
  "--data_dir",
  data,
  "--output_dir",
  await tempDir(),
  ...more,
];

describe("vlmpipe eval", () => {
  it("runs the README walk-through on the fixtures: outputs, metrics.json, per-subject tables", async () => {
    const out = await tempDir();
    const r = await cli([
      "eval",
      "--benchmarks",
      "mmmu-pro",
      "--model",
      "sim",
      "--server_type",
      "sim",
      "--sim_accuracy",
      "0.7",
      "--data_dir",
      data,
      "--output_dir",
      out,
      "--quiet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(out, "eval-results", "mmmu-pro");
    expect((await readdir(dir)).sort()).toEqual([
      "metrics.json",
      "output.jsonl",
      "output.jsonl.done",
      "output.jsonl.row-digests",
      "output.jsonl.spec.json",
      "report.html",
    ]);
    const rows = parseLines(await readFile(path.join(dir, "output.jsonl"), "utf8"));
    expect(rows).toHaveLength(60);
    const metrics = JSON.parse(await readFile(path.join(dir, "metrics.json"), "utf8"));
    const acc = metrics["mmmu-pro"]["pass@1"].symbolic_correct as number;
    // 60 questions at p = 0.7: the standard error is 5.9 points; allow 3 of them.
    expect(Math.abs(acc - 70)).toBeLessThan(18);
    expect(acc).toBeCloseTo((100 * rows.filter((x) => x.symbolic_correct).length) / 60, 5);
    const subsets = Object.keys(metrics).filter((k) => k.startsWith("mmmu-pro-"));
    expect(subsets.length).toBe(6);
    expect(r.stdout).toMatch(/mmmu-pro-Biology/);
    expect(r.stdout).toMatch(/pass@1 +\| 60/);
    await expect(readFile(path.join(out, "eval-logs", "mmmu-pro-output.log"), "utf8")).resolves.toMatch(/60 rows/);
    await expect(readFile(path.join(dir, "report.html"), "utf8")).resolves.toMatch(/<svg[\s\S]*mmmu-pro/);
  });

  it("runs mmmu-pro:3 as three seeds with sampling defaults and reports avg-of-3, majority@3, pass@3", async () => {
    const out = await tempDir();
    const r = await cli([
      "eval",
      "--benchmarks",
      "mmmu-pro:3",
      "--model",
      "sim",
      "--server_type",
      "sim",
      "--data_dir",
      data,
      "--output_dir",
      out,
      "--quiet",
      "++max_samples=20",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(out, "eval-results", "mmmu-pro");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".jsonl")).sort();
    expect(files).toEqual(["output-rs0.jsonl", "output-rs1.jsonl", "output-rs2.jsonl"]);
    for (const [i, f] of files.entries()) {
      const spec = JSON.parse(await readFile(path.join(dir, `${f}.spec.json`), "utf8"));
      expect(spec.inference).toMatchObject({ temperature: 0.7, top_p: 0.95, top_k: -1, random_seed: i });
      expect(parseLines(await readFile(path.join(dir, f), "utf8"))).toHaveLength(20);
    }
    const m = JSON.parse(await readFile(path.join(dir, "metrics.json"), "utf8"))["mmmu-pro"];
    expect(Object.keys(m)).toEqual(expect.arrayContaining(["pass@1[avg-of-3]", "majority@3", "pass@3"]));
    expect(m["pass@1[avg-of-3]"].num_entries).toBe(20);
  });

  it("checks each image once across the seeds of an eval: later jobs take the verdicts from <output_dir>/image-cache", async () => {
    const out = await tempDir();
    const args = (dir: string) => [
      "eval",
      "--benchmarks",
      "mmmu-pro:4",
      "--model",
      "sim",
      "--server_type",
      "sim",
      "--data_dir",
      data,
      "--output_dir",
      dir,
      "--quiet",
      "++max_samples=12",
    ];
    const r = await cli(args(out));
    expect(r.code, r.stderr).toBe(0);
    const imagesLine = async (seed: number) => {
      const log = await readFile(path.join(out, "eval-logs", `mmmu-pro-output-rs${seed}.log`), "utf8");
      const lines = log.split("\n").filter((l) => / images: /.test(l));
      expect(lines, log).toHaveLength(1);
      return lines[0] as string;
    };
    // The jobs run one after another (one server); 12 rows, one image each.
    expect(await imagesLine(0)).toMatch(/images: 12 resolved: 0 from memory, 0 from the disk cache, 12 checked/);
    for (const seed of [1, 2, 3]) {
      expect(await imagesLine(seed)).toMatch(/images: 12 resolved: 0 from memory, 12 from the disk cache, 0 checked/);
    }
    expect(await readdir(path.join(out, "image-cache"))).not.toHaveLength(0);

    // ++image.cache_dir=null: every job checks its own images again.
    const off = await tempDir();
    const r2 = await cli([...args(off), "++image.cache_dir=null"]);
    expect(r2.code, r2.stderr).toBe(0);
    const log3 = await readFile(path.join(off, "eval-logs", "mmmu-pro-output-rs3.log"), "utf8");
    expect(log3).toMatch(/images: 12 resolved: 0 from memory, 12 checked/);
    await expect(readdir(path.join(off, "image-cache"))).rejects.toThrow();
  });

  it("scores the standard config (interleaved images) near the simulator's accuracy too", async () => {
    const out = await tempDir();
    const r = await cli([
      "eval",
      "--benchmarks",
      "mmmu-pro-standard-10:2",
      "--model",
      "sim",
      "--server_type",
      "sim",
      "--sim_accuracy",
      "0.7",
      "--data_dir",
      data,
      "--output_dir",
      out,
      "--quiet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(
      await readFile(path.join(out, "eval-results", "mmmu-pro-standard-10", "metrics.json"), "utf8"),
    );
    // 120 answers at p = 0.7: the standard error is about 4.2 points.
    expect(Math.abs(m["mmmu-pro-standard-10"]["pass@1[avg-of-2]"].symbolic_correct - 70)).toBeLessThan(15);
  });

  it("evaluates another split with --split (<data_dir>/<benchmark>/<split>.jsonl), and says how to get a missing one", async () => {
    const dir = await tempDir();
    await cp(path.join(data, "chartqa", "images"), path.join(dir, "chartqa", "images"), { recursive: true });
    const test = await readFile(path.join(data, "chartqa", "test.jsonl"), "utf8");
    const val = test.split("\n").filter(Boolean).slice(0, 7);
    await cp(path.join(data, "chartqa", "test.jsonl"), path.join(dir, "chartqa", "test.jsonl"));
    await writeFile(path.join(dir, "chartqa", "val.jsonl"), `${val.join("\n")}\n`);
    const out = await tempDir();
    const args = ["eval", "--benchmarks", "chartqa", "--model", "m", "--data_dir", dir, "--output_dir", out];
    const r = await cli([...args, "--split", "val", "--server_type", "sim", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseLines(await readFile(path.join(out, "eval-results", "chartqa", "output.jsonl"), "utf8"));
    expect(rows.map((x) => x.id)).toEqual(val.map((l) => JSON.parse(l).id));
    const missing = await cli([...args, "--split", "dev", "--server_type", "sim", "--quiet"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/dev\.jsonl not found: prepare that split first/);
    const bad = await cli([...args, "--split", "../chartqa/val", "--server_type", "sim"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--split takes a split's name/);
  });

  it("keeps every finished generation with --rerun_done, as NeMo-Skills' does; --overwrite starts over", async () => {
    const args = await evalOn("chartqa", "--server_type", "sim", "--quiet");
    const out = args[args.indexOf("--output_dir") + 1]!;
    const file = path.join(out, "eval-results", "chartqa", "output.jsonl");
    expect((await cli(args)).code).toBe(0);
    const first = await readFile(file, "utf8");
    const again = await cli([...args, "--rerun_done"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await readFile(file, "utf8")).toBe(first);
    await expect(readFile(path.join(out, "eval-results", "chartqa", "metrics.json"), "utf8")).resolves.toMatch(
      /chartqa/,
    );
    expect((await cli([...args, "--overwrite"])).code).toBe(0);
    expect(await readFile(file, "utf8")).not.toBe(first);
  });

  it("reads :0 as one greedy run and refuses other counts and repeated benchmarks, as NeMo-Skills does", () => {
    expect(parseBenchmarks("mmmu-pro:0")[0]!.seeds).toBeNull();
    expect(parseBenchmarks("mmmu-pro:3")[0]!.seeds).toEqual([0, 1, 2]);
    for (const bad of ["mmmu-pro:-1", "mmmu-pro:1.5", "mmmu-pro:0x2", "mmmu-pro:", "mmmu-pro:1e1"])
      expect(() => parseBenchmarks(bad), bad).toThrow(/whole number/);
    expect(() => parseBenchmarks("mmmu-pro,mmmu-pro:2")).toThrow(/more than once/);
  });

  it("lets the user's ++ overrides win over the sampling defaults, but not over the seed", () => {
    const [run] = parseBenchmarks("mmmu-pro:2");
    const o = runOverrides(run!, 1, { inference: { temperature: 1.0, random_seed: 9 } }) as {
      inference: Record<string, unknown>;
    };
    expect(o.inference).toMatchObject({ temperature: 1.0, top_p: 0.95, top_k: -1, random_seed: 1 });
    expect(runOverrides(run!, null, {})).toEqual({ inference: {} });
  });

  it("prints the first rendered request with --dry_run and sends nothing", async () => {
    const r = await cli(await evalOn("mmmu-pro-standard-10", "--dry_run"));
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.model).toBe("m");
    // What a vLLM server (the default --server_type) is sent; an OpenAI API is not.
    expect(body.spaces_between_special_tokens).toBe(false);
    const openai = await cli(await evalOn("mmmu-pro-standard-10", "--dry_run", "--server_type", "openai"));
    expect(openai.code, openai.stderr).toBe(0);
    expect(JSON.parse(openai.stdout)).not.toHaveProperty("spaces_between_special_tokens");
    const parts = body.messages[0].content as { type: string; image_url?: { url: string } }[];
    expect(
      parts.some(
        (p) => p.type === "image_url" && /^data:image\/\w+;base64,.{10,}\.\.\.\(\d+ chars\)$/.test(p.image_url!.url),
      ),
    ).toBe(true);
  });

  it("prints with --dry_run the request of the first job: a seeded run's sampling settings and seed", async () => {
    const r = await cli(await evalOn("mmmu-pro-standard-10:4", "--dry_run", "++inference.top_p=0.9"));
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body).toMatchObject({ temperature: 0.7, top_p: 0.9, seed: 0 });
  });

  it("finishes its files and exits 141 quietly when stdout's reader is gone (| head), as generate does", async () => {
    const args = await evalOn("chartqa", "--server_type", "sim", "--quiet");
    const child = spawnCli(args);
    // The reader closes before the tables come: every write to stdout fails with EPIPE.
    child.stdout!.destroy();
    const r = await waitExit(child);
    expect(r.code, r.stderr).toBe(141);
    expect(r.stderr).not.toMatch(/EPIPE|internal error|node:events/);
    const results = path.join(args[args.indexOf("--output_dir") + 1]!, "eval-results", "chartqa");
    expect((await readdir(results)).sort()).toEqual(expect.arrayContaining(["metrics.json", "report.html"]));
  });

  it("stops a job cleanly after --max_failures rows failed in a row", async () => {
    let chats = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url?.endsWith("/models")) {
          res.end(JSON.stringify({ data: [{ id: "m" }] }));
          return;
        }
        chats++;
        res.writeHead(500).end(JSON.stringify({ error: { message: "engine died", code: 500 } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const r = await cli(
        await evalOn(
          "mmmu-pro-standard-10",
          "--server_address",
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
          "--max_concurrent_requests",
          "1",
          "--max_failures",
          "3",
          "--quiet",
          "++server.max_retries=0",
        ),
      );
      expect(r.code).not.toBe(0);
      // One request at a time: the third failure stops the job (the default, 100, would send 60).
      expect(chats).toBe(3);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("says how to prepare missing data, and rejects an unknown benchmark", async () => {
    const d = await tempDir();
    const r = await cli([
      "eval",
      "--benchmarks",
      "mmmu-pro",
      "--model",
      "m",
      "--server_type",
      "sim",
      "--data_dir",
      d,
      "--output_dir",
      d,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vlmpipe prepare_data mmmu-pro --data_dir .* --config vision/);
    const r2 = await cli([
      "eval",
      "--benchmarks",
      "mmmu-x",
      "--model",
      "m",
      "--server_type",
      "sim",
      "--data_dir",
      d,
      "--output_dir",
      d,
    ]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(
      /unknown benchmark "mmmu-x"; known: mmmu, mmmu-pro, mmmu-pro-standard-10, mmmu-pro-standard-4, chartqa, docvqa/,
    );
  });
});
