import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { formatZodError } from "../config/generation-config.js";
import { UsageError } from "../errors.js";
import { benchmarkOutputs } from "../metrics/locate.js";
import { writeWholeOutput } from "../output/special-output.js";
import { gatherReport } from "./gather.js";
import { imageResolver } from "./images.js";
import { renderPage } from "./page.js";

export const ReportOptionsSchema = z.strictObject({
  /** The folder the rows' relative image paths start from (default: the folder of the run's input_file). */
  dataDir: z.string().min(1).optional(),
  /** embed: 256 px JPEG thumbnails inside the page; link: paths relative to the report; none: placeholders. */
  images: z.enum(["embed", "link", "none"]).default("embed"),
  /** The report file (default `<benchmarkDir>/report.html`). */
  out: z.string().min(1).optional(),
  /** Questions of each output file put in the sample browser; -1: all. Metrics and charts always count every row. */
  maxSamples: z.number().int().min(-1).default(2000),
  /** Longest edge of an embedded thumbnail, in pixels. */
  thumbnailSize: z.number().int().min(16).max(2048).default(256),
  /** Characters of a generation or reasoning kept in the page (head and tail). */
  textLimit: z.number().int().min(200).default(20000),
});

export type ReportOptions = z.input<typeof ReportOptionsSchema>;

/**
 * Writes one self-contained report.html for a benchmark folder (`output.jsonl` or its
 * `output-rs<seed>.jsonl` files): the metrics tables, accuracy per subject with 95% intervals
 * (and each seed), the generated-token histogram and a sample browser. Returns the file's path.
 *
 *   await writeReport("out/eval-results/mmmu-pro", { dataDir: "data/mmmu-pro" });
 */
export async function writeReport(benchmarkDir: string, options: ReportOptions = {}): Promise<string> {
  const parsed = ReportOptionsSchema.safeParse(options);
  if (!parsed.success)
    throw new UsageError(`report options:\n${formatZodError(parsed.error, "", ReportOptionsSchema)}`);
  const opts = parsed.data;
  if (!(await isDir(benchmarkDir))) throw new UsageError(`benchmark folder not found: ${benchmarkDir}`);
  if (opts.dataDir && !(await isDir(opts.dataDir))) throw new UsageError(`--data_dir not found: ${opts.dataDir}`);
  const outputs = benchmarkOutputs(benchmarkDir);
  const out = path.resolve(opts.out ?? path.join(benchmarkDir, "report.html"));

  const { data, imageRefs, spec } = await gatherReport(outputs, {
    maxSamples: opts.maxSamples,
    textLimit: opts.textLimit,
    images: opts.images,
  });
  const dataDir = opts.dataDir ? path.resolve(opts.dataDir) : await inputFolder(spec?.input_file);
  if (dataDir) data.samples.dataDir = dataDir;

  const resolve = imageResolver({
    mode: opts.images,
    baseDir: dataDir,
    reportDir: path.dirname(out),
    thumbnailSize: opts.thumbnailSize,
  });
  await Promise.all(
    data.samples.rows.map(async (row, i) => {
      row.images = await Promise.all((imageRefs[i] ?? []).map(resolve));
    }),
  );

  await mkdir(path.dirname(out), { recursive: true });
  // A device or pipe (/dev/null, /dev/stdout) gets the page as a stream; a file is written aside
  // and renamed, so a browser (or a killed run) never sees half a page.
  await writeWholeOutput(out, renderPage(data), async (target, text) => {
    const tmp = `${target}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, text);
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  });
  return out;
}

/** The folder of the run's input file, when it still exists: image paths in rows are relative to it. */
async function inputFolder(inputFile: unknown): Promise<string | undefined> {
  if (typeof inputFile !== "string" || inputFile === "" || inputFile === "-") return undefined;
  const dir = path.dirname(path.resolve(inputFile));
  return (await isDir(dir)) ? dir : undefined;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
