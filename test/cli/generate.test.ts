import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { spawnCli, waitExit } from "../helpers/bin.js";
import { cli, makeDataset, parseLines, png, tempDir } from "../helpers/dataset.js";

type Req = {
  messages: { role: string; content: string | { type: string; text?: string; image_url?: { url: string } }[] }[];
} & Record<string, unknown>;

let sim: SimServer;
let dir: string;
let data: Awaited<ReturnType<typeof makeDataset>>;

beforeAll(async () => {
  dir = await tempDir();
  data = await makeDataset(dir, 12);
  sim = await startSimServer({ model: "sim", answer_rows: data.rows as never, accuracy: 1, record_requests: true });
});
afterAll(() => sim.close());

const base = () => [
  "--prompt_config",
  "vlm/mmmu-pro",
  "--model",
  "sim",
  "--server_address",
  `${sim.url}/v1`,
  "--quiet",
];

describe("vlmpipe generate", () => {
  it("writes every row in input order with NeMo-Skills' fields, and a .done file", async () => {
    const out = path.join(dir, "run1", "output.jsonl");
    const r = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      out,
      ...base(),
      "--max_concurrent_requests",
      "4",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = parseLines(await readFile(out, "utf8"));
    expect(lines.map((l) => l.id)).toEqual(data.rows.map((x) => x.id));
    for (const l of lines) {
      expect(typeof l.generation).toBe("string");
      expect(l.generation).toMatch(/Answer: [A-D]\s*$/);
      expect(l.num_generated_tokens).toBeGreaterThan(0);
      expect(l.finish_reason).toBe("stop");
      expect(l.generation_time).toBeGreaterThanOrEqual(0);
      expect(l.generation_end_time).toBeGreaterThanOrEqual(l.generation_start_time as number);
      expect(l).not.toHaveProperty("_async_position");
      expect(l).not.toHaveProperty("error");
    }
    await expect(readFile(`${out}.done`, "utf8")).resolves.toBe("");
    await expect(readFile(`${out}-async`)).rejects.toThrow();
    const spec = JSON.parse(await readFile(`${out}.spec.json`, "utf8"));
    expect(spec).toMatchObject({ model: "sim", inference: { temperature: 0, top_p: 0.95 } });
  });

  it("sends what NeMo-Skills sends each server kind: spaces_between_special_tokens false to vLLM, nothing to an OpenAI API", async () => {
    const bodies = async (extra: string[]) => {
      const before = sim.requests.length;
      const out = path.join(dir, `kind-${sim.requests.length}`, "output.jsonl");
      const r = await cli([
        "generate",
        "--input_file",
        data.file,
        "--output_file",
        out,
        ...base(),
        "++max_samples=1",
        ...extra,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return sim.requests.slice(before) as Req[];
    };
    const [vllm] = await bodies(["++inference.presence_penalty=1.5", "++inference.frequency_penalty=-0.5"]);
    expect(vllm).toMatchObject({
      spaces_between_special_tokens: false,
      presence_penalty: 1.5,
      frequency_penalty: -0.5,
    });
    const [openai] = await bodies(["--server_type", "openai"]);
    expect(openai).not.toHaveProperty("spaces_between_special_tokens");
    expect(openai).not.toHaveProperty("presence_penalty");
    const [overridden] = await bodies(["++inference.extra_body.spaces_between_special_tokens=true"]);
    expect(overridden).toMatchObject({ spaces_between_special_tokens: true });
    const refused = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      "-",
      ...base(),
      "++inference.presence_penalty=3",
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/presence_penalty/);
  });

  it("sends the image as a data URL before the text, and the ++ overrides in the body", async () => {
    const before = sim.requests.length;
    const out = path.join(dir, "run2", "output.jsonl");
    const r = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      out,
      ...base(),
      "++inference.temperature=0.6",
      "++inference.tokens_to_generate=512",
      "++inference.top_k=20",
      "++inference.random_seed=7",
      "++inference.extra_body.chat_template_kwargs.enable_thinking=false",
      "++max_samples=2",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const reqs = sim.requests.slice(before) as Req[];
    expect(reqs).toHaveLength(2);
    const body = reqs[0] as Req;
    expect(body).toMatchObject({
      model: "sim",
      temperature: 0.6,
      top_p: 0.95,
      max_tokens: 512,
      top_k: 20,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
      chat_template_kwargs: { enable_thinking: false },
    });
    const content = body.messages[0]?.content as { type: string; image_url?: { url: string } }[];
    expect(content.map((p) => p.type)).toEqual(["image_url", "text"]);
    expect(content[0]?.image_url?.url).toMatch(/^data:image\/png;base64,/);
    const sent = Buffer.from(content[0]!.image_url!.url.split(",")[1] as string, "base64");
    expect(sent.equals(await readFile(path.join(dir, "images", "q0.png")))).toBe(true);
  });

  it("sends list elements trimmed as Hydra reads them, and nothing for a null stop or reasoning_effort", async () => {
    const run = async (name: string, ...over: string[]) => {
      const before = sim.requests.length;
      const out = path.join(dir, name, "output.jsonl");
      const r = await cli(["generate", "--input_file", data.file, "--output_file", out, ...base(), ...over]);
      expect(r.code, r.stderr).toBe(0);
      return sim.requests.slice(before) as Req[];
    };
    const listed = await run("stop-list", "++max_samples=1", "++inference.stop=[</s>, <|im_end|>]");
    expect(listed[0]?.stop).toEqual(["</s>", "<|im_end|>"]);
    const nulls = await run(
      "stop-null",
      "++max_samples=1",
      "++inference.stop=null",
      "++inference.reasoning_effort=null",
      "++system_message=null",
      "++inference.timeout=null",
    );
    expect(nulls).toHaveLength(1);
    expect(nulls[0]).not.toHaveProperty("stop");
    expect(nulls[0]).not.toHaveProperty("reasoning_effort");
    // The prompt config's own messages (it has no system message).
    expect(nulls[0]!.messages.map((m) => m.role)).toEqual(["user"]);
  });

  it("reads ++max_samples=0 (or below) as every row, as NeMo-Skills does", async () => {
    for (const v of ["0", "-3"]) {
      const out = path.join(dir, `all-rows${v}`, "output.jsonl");
      const r = await cli([
        "generate",
        "--input_file",
        data.file,
        "--output_file",
        out,
        ...base(),
        `++max_samples=${v}`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(parseLines(await readFile(out, "utf8")).map((l) => l.id)).toEqual(data.rows.map((x) => x.id));
    }
  });

  it("refuses --server_address with --server_type sim, which starts its own server", async () => {
    const before = sim.requests.length;
    const r = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      path.join(dir, "sim-addr", "output.jsonl"),
      ...base(),
      "--server_type",
      "sim",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("vlmpipe: --server_type sim runs the built-in simulator: drop --server_address");
    expect(sim.requests.length).toBe(before);
  });

  it("starts --server_type sim only after the run's checks pass: a refused run starts no simulator", async () => {
    const out = path.join(dir, "sim-late", "output.jsonl");
    const args = ["generate", "--input_file", data.file, "--output_file", out, "--prompt_config", "vlm/mmmu-pro"];
    const sim = [...args, "--model", "sim", "--server_type", "sim", "--quiet"];
    const refused = await cli([...sim, "++inference.top_p=7"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/top_p/);
    expect(refused.stderr).not.toMatch(/simulated vLLM server/);
    const ran = await cli([...sim, "++max_samples=2"]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/simulated vLLM server/);
    // Already complete: nothing to ask, no simulator either.
    const again = await cli([...sim, "++max_samples=2"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/simulated vLLM server/);
  });

  it("resolves every form of image_path: relative, absolute, http(s) and data URLs", async () => {
    const d = await tempDir();
    const img = await png(10, 10, "#00ff00");
    await writeFile(path.join(d, "rel.png"), img);
    const abs = path.join(d, "abs.png");
    await writeFile(abs, img);
    const dataUrl = `data:image/png;base64,${img.toString("base64")}`;
    const rows = [
      { problem: "p0", image_path: "rel.png" },
      { problem: "p1", image_path: abs },
      { problem: "p2", image_path: "https://example.invalid/x.png" },
      { problem: "p3", image_path: dataUrl },
      { problem: "p4", image_path: "missing.png" },
    ];
    const input = path.join(d, "in.jsonl");
    await writeFile(input, rows.map((x) => JSON.stringify(x)).join("\n"));
    const before = sim.requests.length;
    const r = await cli([
      "generate",
      "--input_file",
      input,
      "--output_file",
      path.join(d, "o.jsonl"),
      ...base(),
      "--max_concurrent_requests",
      "1",
    ]);
    const lines = parseLines(await readFile(path.join(d, "o.jsonl"), "utf8"));
    const sent = new Map<string, string | undefined>();
    for (const q of sim.requests.slice(before) as Req[]) {
      const parts = q.messages[0]?.content as { type: string; text?: string; image_url?: { url: string } }[];
      const text = parts.find((p) => p.type === "text")?.text ?? "";
      sent.set(text.slice(-2), parts[0]?.image_url?.url);
    }
    expect(sent.get("p0")).toBe(dataUrl); // relative to the input file's folder
    expect(sent.get("p1")).toBe(dataUrl); // absolute
    expect(sent.get("p2")).toBe("https://example.invalid/x.png");
    expect(sent.get("p3")).toBe(dataUrl);
    expect(sent.has("p4")).toBe(false);
    // The https URL is passed through; the simulator, having no network, rejects it as a 400.
    expect(lines[2]?.error).toMatchObject({ stage: "generate", code: "VLM_E_HTTP", status: 400 });
    expect(lines[4]?.error).toMatchObject({ stage: "resolveImages", code: "VLM_E_IMAGE_NOT_FOUND" });
    expect((lines[4]!.error as { message: string }).message).toContain(path.join(d, "missing.png"));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /2 failed \((VLM_E_HTTP x1, VLM_E_IMAGE_NOT_FOUND x1|VLM_E_IMAGE_NOT_FOUND x1, VLM_E_HTTP x1)\)/,
    );
  });

  it("works as a Unix filter: stdin in, NDJSON out in completion order with _async_position", async () => {
    const text = await readFile(data.file, "utf8");
    const r = await cli(
      [
        "generate",
        "--input_file",
        "-",
        "--output_file",
        "-",
        ...base(),
        "--data_dir",
        dir,
        "--eval_type",
        "multichoice",
      ],
      text,
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = parseLines(r.stdout);
    expect(lines).toHaveLength(12);
    expect(lines.map((l) => l._async_position).sort((a, b) => (a as number) - (b as number))).toEqual([
      ...Array(12).keys(),
    ]);
    expect(lines.every((l) => l.symbolic_correct === true)).toBe(true);
    expect(r.stderr).not.toMatch(/^\{/m);
  });

  it("as a filter, stops quietly with 141 when its reader goes away (| head), and waits for a slow one without warnings", async () => {
    const rows = Array.from({ length: 400 }, (_, i) =>
      JSON.stringify({ id: `r${i}`, problem: `Q${i}?`, image_path: null }),
    );
    const args = ["generate", "--input_file", "-", "--output_file", "-", ...base(), "--max_concurrent_requests", "64"];
    // | head -n 1: the reader closes after its first line.
    const head = spawnCli(args);
    head.stdin!.end(`${rows.join("\n")}\n`);
    const first = await new Promise<string>((resolve) => {
      head.stdout!.once("data", (b: Buffer) => {
        head.stdout!.destroy();
        resolve(b.toString());
      });
    });
    expect(first).toMatch(/^\{"id":"r/);
    const r = await waitExit(head);
    expect(r.code, r.stderr).toBe(141);
    expect(r.stderr).not.toMatch(/internal error|EPIPE/);
    // A reader that takes nothing for a while: every row blocked on it shares one wait.
    const slow = spawnCli(args);
    slow.stdin!.end(`${rows.join("\n")}\n`);
    slow.stdout!.pause();
    await new Promise((res) => setTimeout(res, 1500));
    slow.stdout!.resume();
    const s = await waitExit(slow);
    expect(s.code, s.stderr).toBe(0);
    expect(parseLines(s.stdout)).toHaveLength(400);
    expect(s.stderr).not.toMatch(/MaxListenersExceeded|memory leak/);
  });

  it("keeps each row's fields as the input wrote them, through generate and score", async () => {
    const rows = [
      '{"id": 12345678901234567890, "problem": "Pick one.\\nA) caf\\u00e9\\nB) tea", "expected_answer": "A", "w": 1.0, "image_path": null}',
      '  {"id":-9007199254740993,"problem":"Which?","expected_answer":"B","image_path":null}  ',
    ];
    const input = path.join(dir, "fidelity.jsonl");
    await writeFile(input, rows.join("\r\n") + "\r\n");
    const out = path.join(dir, "fidelity", "output.jsonl");
    const r = await cli(["generate", "--input_file", input, "--output_file", out, ...base()]);
    expect(r.code, r.stderr).toBe(0);
    const lines = (await readFile(out, "utf8")).split("\n").slice(0, -1);
    expect(lines).toHaveLength(2);
    lines.forEach((line, i) => {
      const text = (rows[i] as string).trim();
      expect(line.startsWith(`${text.slice(0, -1)},"generation":`)).toBe(true);
      expect(JSON.parse(line)).toMatchObject({ ...JSON.parse(text), generation: expect.any(String) });
    });
    // Scoring adds its fields after them (a row scored before gets its merged fields rewritten).
    const scored = path.join(dir, "fidelity", "scored.jsonl");
    expect((await cli(["score", "--input_file", out, "--output_file", scored])).code).toBe(0);
    const again = (await readFile(scored, "utf8")).split("\n").slice(0, -1);
    again.forEach((line, i) => {
      expect(line.startsWith(`${(lines[i] as string).slice(0, -1)},"predicted_answer":`)).toBe(true);
      expect(JSON.parse(line)).toHaveProperty("symbolic_correct");
    });
  });

  it("keeps an input row's own `error` field as data: not a failed row, on a run or a rerun", async () => {
    const d = await tempDir();
    const input = path.join(d, "in.jsonl");
    const rows = [
      { id: "a", problem: "a", image_path: null, error: "label noise" },
      { id: "b", problem: "b", image_path: null, error: { kind: "ocr", score: 0.2 }, w: 1 },
      { id: "c", problem: "c", image_path: null },
    ];
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const out = path.join(d, "o.jsonl");
    const r = await cli(["generate", "--input_file", input, "--output_file", out, ...base()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("0 failed");
    const lines = parseLines(await readFile(out, "utf8"));
    expect(lines.map((l) => l.error)).toEqual(["label noise", { kind: "ocr", score: 0.2 }, undefined]);
    expect(lines.every((l) => typeof l.generation === "string")).toBe(true);
    const again = await cli(["generate", "--input_file", input, "--output_file", out, ...base()]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("already complete");
  });

  it("records a bad JSON line as that row's error and goes on", async () => {
    const d = await tempDir();
    const input = path.join(d, "in.jsonl");
    await writeFile(input, '{"problem":"a","image_path":null}\n{not json\n{"problem":"c","image_path":null}\n');
    const out = path.join(d, "o.jsonl");
    const r = await cli(["generate", "--input_file", input, "--output_file", out, ...base()]);
    expect(r.code).toBe(3);
    const lines = parseLines(await readFile(out, "utf8"));
    expect(lines).toHaveLength(3);
    expect(lines[1]?.error).toMatchObject({ code: "VLM_E_BAD_JSON", message: expect.stringMatching(/^line 2:/) });
    expect(lines[2]?.generation).toBeTruthy();
  });

  it("records a missing placeholder as a per-row error naming the field and the row", async () => {
    const d = await tempDir();
    const input = path.join(d, "in.jsonl");
    await writeFile(input, '{"problem":"a","image_path":null}\n{"question":"b","image_path":null}\n');
    const out = path.join(d, "o.jsonl");
    await cli(["generate", "--input_file", input, "--output_file", out, ...base()]);
    const lines = parseLines(await readFile(out, "utf8"));
    expect(lines[1]?.error).toMatchObject({ stage: "renderPrompt", code: "VLM_E_MISSING_FIELD" });
    expect((lines[1]!.error as { message: string }).message).toMatch(/"problem" but row 1 has none/);
  });

  it("refuses to resume with other settings unless --overwrite", async () => {
    const out = path.join(dir, "run3", "output.jsonl");
    const a = await cli(["generate", "--input_file", data.file, "--output_file", out, ...base(), "++max_samples=3"]);
    expect(a.code).toBe(0);
    const b = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      out,
      ...base(),
      "++inference.temperature=0.7",
    ]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/holds rows of a different run[\s\S]*temperature[\s\S]*--overwrite/);
    const c = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      out,
      ...base(),
      "++inference.temperature=0.7",
      "--overwrite",
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(parseLines(await readFile(out, "utf8"))).toHaveLength(12);
  });

  it("says a finished output is complete and does nothing on a rerun", async () => {
    const out = path.join(dir, "run4", "output.jsonl");
    await cli(["generate", "--input_file", data.file, "--output_file", out, ...base()]);
    const before = sim.stats.chat;
    const r = await cli(["generate", "--input_file", data.file, "--output_file", out, ...base()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/already complete/);
    expect(sim.stats.chat).toBe(before);
  });

  it("exits 2 with a clear message for bad flags and overrides", async () => {
    const r1 = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      "-",
      ...base(),
      "++inference.temprature=0",
    ]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/unknown key \+\+inference\.temprature; known keys of inference: temperature/);
    const r2 = await cli(["generate", "--input_file", data.file, "--output_file", "-", "--model", "sim"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--prompt_config/);
    const r3 = await cli(["generate", "--input_file", path.join(dir, "nope.jsonl"), "--output_file", "-", ...base()]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/input_file not found/);
  });

  it("names a missing --input_file with --server_type sim too, where it would be the simulator's answer book", async () => {
    const nope = path.join(dir, "nope.jsonl");
    const r = await cli(
      ["generate", "--input_file", nope, "--output_file", "-"].concat([
        "--prompt_config",
        "vlm/mmmu-pro",
        "--model",
        "sim",
        "--server_type",
        "sim",
        "--quiet",
      ]),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--input_file not found: ${nope}`);
    expect(r.stderr).not.toMatch(/answers file/);
  });

  it("accepts kebab-case spellings of flags", async () => {
    const r = await cli([
      "generate",
      "--input-file",
      data.file,
      "--output-file",
      "-",
      "--prompt-config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server-address",
      `${sim.url}/v1`,
      "--max-concurrent-requests",
      "2",
      "--quiet",
      "++max_samples=1",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseLines(r.stdout)).toHaveLength(1);
  });

  it("fails before any work when the server is not reachable", async () => {
    const r = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      "-",
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "sim",
      "--server_address",
      "http://127.0.0.1:9/v1",
      "++server.wait_timeout=0.5",
      "--quiet",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the server at http:\/\/127\.0\.0\.1:9\/v1/);
    expect(r.stdout).toBe("");
  });

  it("fails before any work when the server does not serve the model", async () => {
    const r = await cli([
      "generate",
      "--input_file",
      data.file,
      "--output_file",
      "-",
      "--prompt_config",
      "vlm/mmmu-pro",
      "--model",
      "other",
      "--server_address",
      `${sim.url}/v1`,
      "--quiet",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not serve model "other"; it serves: sim/);
  });
});
