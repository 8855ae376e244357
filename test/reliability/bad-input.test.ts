import { spawnSync } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { binPath, spawnCli, waitExit } from "../helpers/bin.js";
import { cli, parseLines, png, tempDir } from "../helpers/dataset.js";

// Every bad input gets a clear message naming the line or row, and loses nothing else.

let sim: SimServer;
let dir: string;
beforeAll(async () => {
  sim = await startSimServer({ model: "sim" });
  dir = await tempDir();
  await writeFile(path.join(dir, "ok.png"), await png());
});
afterAll(() => sim.close());

const base = (input: string, out: string) => [
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
  `${sim.url}/v1`,
  "--quiet",
];

async function runRows(name: string, content: string | Buffer) {
  const input = path.join(dir, `${name}.jsonl`);
  await writeFile(input, content);
  const out = path.join(dir, `${name}-out.jsonl`);
  const r = await cli(base(input, out));
  const rows = await readFile(out, "utf8").then(parseLines, () => []);
  return { ...r, rows };
}

const good = (i: number) => JSON.stringify({ problem: `question ${i}`, image_path: "ok.png" });

describe("bad input", () => {
  it("invalid JSON: that row's error names its line; the others are done", async () => {
    const r = await runRows("badjson", `${good(0)}\n{"problem": "x",\n${good(2)}\n`);
    expect(r.code).toBe(3);
    expect(r.rows[1]?.error).toMatchObject({
      code: "VLM_E_BAD_JSON",
      message: expect.stringMatching(/^line 2: not valid JSON/),
    });
    expect(r.rows.filter((x) => x.generation)).toHaveLength(2);
  });

  it("a JSON array or a number as a row", async () => {
    const r = await runRows("notobject", `[1,2]\n${good(1)}\n7\n`);
    expect(r.rows[0]?.error).toMatchObject({
      code: "VLM_E_NOT_AN_OBJECT",
      message: "line 1: a row must be a JSON object, got an array",
    });
    expect(r.rows[2]?.error).toMatchObject({ message: "line 3: a row must be a JSON object, got a number" });
  });

  it("an empty file: nothing to do, said so, exit 0", async () => {
    const r = await runRows("empty", "");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: the input has no rows/);
  });

  it("a file without a final newline: the last row counts", async () => {
    const r = await runRows("nonl", `${good(0)}\n${good(1)}`);
    expect(r.code).toBe(0);
    expect(r.rows).toHaveLength(2);
  });

  it("wrong encoding: UTF-16 is refused before work; a Latin-1 line is that row's error", async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${good(0)}\n`, "utf16le")]);
    const r1 = await runRows("utf16", utf16);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/is UTF-16 encoded; JSONL must be UTF-8/);
    const latin1 = Buffer.concat([
      Buffer.from(`${good(0)}\n`),
      Buffer.from('{"problem": "caf\u00e9", "image_path": null}\n', "latin1"),
    ]);
    const r2 = await runRows("latin1", latin1);
    expect(r2.rows[1]?.error).toMatchObject({
      code: "VLM_E_ENCODING",
      message: expect.stringMatching(/^line 2: not valid UTF-8/),
    });
  });

  it("a missing image field: the row's error names the field", async () => {
    // (On the first row it stops the run before any request: test/reliability/silent-mistakes.test.ts.)
    const r = await runRows("noimgfield", `${good(0)}\n${JSON.stringify({ problem: "q" })}\n`);
    expect(r.rows[1]?.error).toMatchObject({ stage: "renderPrompt", code: "VLM_E_MISSING_FIELD" });
    expect((r.rows[1]!.error as { message: string }).message).toMatch(/row 1 has no field "image_path"/);
  });

  it("an image path to a directory", async () => {
    await mkdir(path.join(dir, "adir"), { recursive: true });
    const r = await runRows("imgdir", `${JSON.stringify({ problem: "q", image_path: "adir" })}\n`);
    expect(r.rows[0]?.error).toMatchObject({
      code: "VLM_E_IMAGE_READ",
      message: expect.stringContaining(`is a directory: ${path.join(dir, "adir")}`),
    });
  });

  it("an unreadable image file (permissions)", async (ctx) => {
    // Run as an unprivileged user when we are root (root reads anything).
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if (
      asNobody.uid !== undefined &&
      spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(binPath)})`], asNobody).status !== 0
    ) {
      console.warn("skipped: the checkout is not readable by the unprivileged user this test runs the CLI as");
      ctx.skip();
    }
    const d = await tempDir();
    await chmod(d, 0o777);
    await writeFile(path.join(d, "secret.png"), await png());
    await chmod(path.join(d, "secret.png"), 0o000);
    await writeFile(path.join(d, "in.jsonl"), `${JSON.stringify({ problem: "q", image_path: "secret.png" })}\n`);
    const out = path.join(d, "o.jsonl");
    const child = spawnCli(base(path.join(d, "in.jsonl"), out), { ...asNobody, env: { HOME: d } });
    const r = await waitExit(child);
    expect(r.code, r.stderr).toBe(3);
    const rows = parseLines(await readFile(out, "utf8"));
    expect(rows[0]?.error).toMatchObject({
      code: "VLM_E_IMAGE_READ",
      message: expect.stringMatching(/secret\.png.*(permission|EACCES)/i),
    });
  });

  it("a placeholder the row lacks: the row's error names field and row", async () => {
    const r = await runRows("noplaceholder", `${good(0)}\n${JSON.stringify({ question: "q", image_path: null })}\n`);
    expect(r.rows[1]?.error).toMatchObject({
      code: "VLM_E_MISSING_FIELD",
      message: expect.stringMatching(/needs field "problem" but row 1 has none/),
    });
  });

  it("a prompt config with an unknown key or a wrong type: exit 2 before any work", async () => {
    const p1 = path.join(dir, "bad1.yaml");
    await writeFile(p1, "user: '{problem}'\nimage_fields: image_path\n");
    const p2 = path.join(dir, "bad2.yaml");
    await writeFile(p2, "user: '{problem}'\nimage_position: 3\n");
    const input = path.join(dir, "pc.jsonl");
    await writeFile(input, `${good(0)}\n`);
    const before = sim.stats.chat;
    for (const [p, msg] of [
      [p1, /unknown key image_fields; known keys: system, user, image_field/],
      [p2, /image_position/],
    ] as const) {
      const r = await cli([
        ...base(input, "-").filter((a) => a !== "vlm/mmmu-pro" && a !== "--prompt_config"),
        "--prompt_config",
        p,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    expect(sim.stats.chat).toBe(before);
  });

  it("a ++ override with a typo: exit 2, listing the known keys", async () => {
    const input = path.join(dir, "ov.jsonl");
    await writeFile(input, `${good(0)}\n`);
    const r = await cli([...base(input, "-"), "++inference.temperatur=0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /unknown key \+\+inference\.temperatur; known keys of inference: temperature, top_p, top_k/,
    );
  });

  it("an output path in a missing folder: the folder is made", async () => {
    const input = path.join(dir, "mk.jsonl");
    await writeFile(input, `${good(0)}\n`);
    const out = path.join(dir, "new", "deeper", "o.jsonl");
    const r = await cli(base(input, out));
    expect(r.code, r.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8"))).toHaveLength(1);
  });

  it("an output file that belongs to another run: refused, saying what differs", async () => {
    const input = path.join(dir, "other.jsonl");
    await writeFile(input, `${good(0)}\n${good(1)}\n`);
    const out = path.join(dir, "other-out.jsonl");
    expect((await cli([...base(input, out), "++max_samples=1"])).code).toBe(0);
    const other = await startSimServer({ model: "other-model" });
    try {
      const r = await cli([
        ...base(input, out).map((a) => (a === "sim" ? "other-model" : a.replace(sim.url, other.url))),
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/holds rows of a different run[\s\S]*model: was "sim", now "other-model"/);
    } finally {
      await other.close();
    }
  });
});
