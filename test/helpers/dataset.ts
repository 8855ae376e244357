import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import sharp from "sharp";
import { runCli } from "../../src/cli/run-cli.js";

export async function tempDir(prefix = "vlmpipe-"): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** A small PNG of a given size and colour, made with sharp. */
export function png(width = 32, height = 24, color = "#3366cc"): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
}

/** n multiple-choice rows with images under dir/images, relative image paths. */
export async function makeDataset(dir: string, n: number, opts: { images?: boolean } = {}) {
  await mkdir(path.join(dir, "images"), { recursive: true });
  const rows: Record<string, unknown>[] = [];
  const img = await png();
  for (let i = 0; i < n; i++) {
    const letters = ["A", "B", "C", "D"];
    const row: Record<string, unknown> = {
      id: `q${i}`,
      problem: `Question number ${i}: which option fits?\n\nA) alpha ${i}\nB) beta ${i}\nC) gamma ${i}\nD) delta ${i}`,
      expected_answer: letters[i % 4],
      subset_for_metrics: i % 2 ? "Art" : "Math",
    };
    if (opts.images !== false) {
      await writeFile(path.join(dir, "images", `q${i}.png`), img);
      row.image_path = `images/q${i}.png`;
    } else row.image_path = null;
    rows.push(row);
  }
  const file = path.join(dir, "data.jsonl");
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return { file, rows };
}

/** Runs the CLI in this process, capturing stdout and stderr. */
export async function cli(argv: string[], stdinText?: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (b: Buffer) => out.push(b));
  stderr.on("data", (b: Buffer) => err.push(b));
  const code = await runCli(argv, { stdout, stderr, stdin: Readable.from([stdinText ?? ""]) });
  return { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

export function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
