/**
 * One MMMU-Pro dataset row -> one NeMo-Skills JSONL record plus the images it refers to.
 * Pure: no I/O, so the field mapping is tested on plain objects.
 *
 * Mirrors NeMo-Skills' nemo_skills/dataset/mmmu-pro/prepare.py (vision) and its
 * `get_mcq_fields`: problem = question stripped of newlines + "\n\n" + "A) opt" lines, so a
 * vision row (question inside the image) has a problem that starts with "\n\n".
 * Differences, on purpose: images keep their own bytes and format (NeMo-Skills re-encodes to
 * .png with PIL), and `options` / `subject` (and the standard configs' extra fields) are kept.
 */
import { z } from "zod";
import { ErrorCodes, VlmError } from "../../errors.js";
import { type Formatted as HubFormatted, type ImageOut, safeStem } from "../shared/hub-prepare.js";
import { imageExt } from "../shared/image-ext.js";
import { parsePythonStringList } from "../shared/python-literal.js";

// HF `datasets` stores an Image feature as a struct {bytes: binary, path: string}.
const ImageCell = z
  .object({
    bytes: z.instanceof(Uint8Array).nullish(),
    path: z.string().nullish(),
  })
  .nullish();

// Options as the dataset has them (a Python list repr); a real list is accepted too.
const Options = z.union([z.string(), z.array(z.string())]);

export const VisionRowSchema = z.object({
  id: z.string(),
  image: ImageCell,
  options: Options,
  answer: z.string(),
  subject: z.string(),
});

export const MAX_STANDARD_IMAGES = 7;
const imageColumns = Array.from({ length: MAX_STANDARD_IMAGES }, (_, i) => `image_${i + 1}` as const);

export const StandardRowSchema = z.object({
  id: z.string(),
  question: z.string(),
  options: Options,
  explanation: z.string().nullish(),
  img_type: z.string().nullish(),
  answer: z.string(),
  topic_difficulty: z.string().nullish(),
  subject: z.string(),
  ...Object.fromEntries(imageColumns.map((c) => [c, ImageCell])),
});

export const VISION_COLUMNS = ["id", "image", "options", "answer", "subject"];
export const STANDARD_COLUMNS = ["id", "question", "options", "answer", "subject"];
export const STANDARD_OPTIONAL_COLUMNS = ["explanation", "img_type", "topic_difficulty", ...imageColumns];

/** Formatted with its warnings always there (rows add to them; prepare adds duplicate ids'). */
type Formatted = HubFormatted & { warnings: string[] };

/** As NeMo-Skills' get_mcq_fields: "A) first\nB) second..." after the question. */
export function mcqProblem(question: string, options: string[]): string {
  const lines = options.map((o, i) => `${String.fromCharCode(65 + i)}) ${o}`).join("\n");
  return `${question.replace(/^\n+|\n+$/g, "")}\n\n${lines}`;
}

export function subsetForMetrics(subject: string): string {
  return subject.replaceAll(" ", "_");
}

export { safeStem };

function parseOptions(options: string | string[], id: string): string[] {
  if (Array.isArray(options)) return options;
  try {
    return parsePythonStringList(options);
  } catch (e) {
    throw new VlmError(ErrorCodes.DATA, `row ${id}: options: ${(e as Error).message}`);
  }
}

/** `stem` is the image file stem, normally safeStem(id). Returns null for a row without image. */
export function formatVisionRow(raw: unknown, stem: string): Formatted | null {
  const row = VisionRowSchema.parse(raw);
  const bytes = row.image?.bytes;
  // NeMo-Skills skips rows without an image; so do we.
  if (!bytes || bytes.length === 0) return null;
  const options = parseOptions(row.options, row.id);
  const relPath = `images/${stem}.${imageExt(bytes, row.image?.path)}`;
  return {
    record: {
      problem: mcqProblem("", options),
      image_path: relPath,
      expected_answer: row.answer,
      subset_for_metrics: subsetForMetrics(row.subject),
      id: row.id,
      options,
      subject: row.subject,
    },
    images: [{ relPath, bytes }],
    warnings: [],
  };
}

export function formatStandardRow(raw: unknown, stem: string): Formatted {
  const row = StandardRowSchema.parse(raw) as z.infer<typeof StandardRowSchema> &
    Record<(typeof imageColumns)[number], z.infer<typeof ImageCell>>;
  const options = parseOptions(row.options, row.id);
  const images: ImageOut[] = [];
  const imageFields: Record<string, string> = {};
  for (const [i, col] of imageColumns.entries()) {
    const cell = row[col];
    if (!cell?.bytes || cell.bytes.length === 0) continue;
    const relPath = `images/${stem}_${i + 1}.${imageExt(cell.bytes, cell.path)}`;
    imageFields[col] = relPath;
    images.push({ relPath, bytes: cell.bytes });
  }
  // A marker without its image is a data problem worth a line in the log, not a failure:
  // the official evaluation sends such questions as they are.
  const warnings: string[] = [];
  const text = [row.question, ...options].join("\n");
  for (const m of new Set(text.match(/<image (\d+)>/g) ?? [])) {
    const n = /\d+/.exec(m)?.[0];
    if (!imageFields[`image_${n}`]) warnings.push(`row ${row.id}: ${m} has no image_${n}`);
  }
  let imgType: unknown = row.img_type ?? null;
  if (typeof imgType === "string") {
    try {
      imgType = parsePythonStringList(imgType);
    } catch {
      // not a list repr: keep the text
    }
  }
  return {
    record: {
      problem: mcqProblem(row.question, options),
      ...imageFields,
      expected_answer: row.answer,
      subset_for_metrics: subsetForMetrics(row.subject),
      id: row.id,
      options,
      subject: row.subject,
      img_type: imgType,
      topic_difficulty: row.topic_difficulty ?? null,
      explanation: row.explanation ?? null,
    },
    images,
    warnings,
  };
}
