/**
 * One MMMU dataset row (hub MMMU/MMMU, a config per subject) -> one JSONL record plus its images.
 * Pure: no I/O, so the mapping is tested on plain objects.
 *
 * `problem` is the prompt the authors' evaluation builds (their configs/llava1.5.yaml shape):
 *   multiple choice: "<question>\n(A) opt\n(B) opt\n\nAnswer with the option's letter from the given choices directly."
 *   open:            "<question>\nAnswer the question using a single word or phrase."
 * with the `<image N>` markers left in place (the prompt config puts each image there);
 * `question_text` is the same without the instruction, for the CoT prompt. The row keeps what the
 * authors' parser needs: question_type, options, all_choices and index2ans.
 */
import { z } from "zod";
import type { Formatted, ImageOut } from "../shared/hub-prepare.js";
import { imageExt } from "../shared/image-ext.js";
import { parsePythonStringList } from "../shared/python-literal.js";

const ImageCell = z.object({ bytes: z.instanceof(Uint8Array).nullish(), path: z.string().nullish() }).nullish();

export const MAX_IMAGES = 7;
const imageColumns = Array.from({ length: MAX_IMAGES }, (_, i) => `image_${i + 1}` as const);

export const MmmuRowSchema = z.object({
  id: z.string(),
  question: z.string(),
  options: z.union([z.string(), z.array(z.string())]),
  explanation: z.string().nullish(),
  img_type: z.string().nullish(),
  answer: z.string(),
  topic_difficulty: z.string().nullish(),
  question_type: z.string(),
  subfield: z.string().nullish(),
  ...Object.fromEntries(imageColumns.map((c) => [c, ImageCell])),
});

export const MMMU_COLUMNS = ["id", "question", "options", "answer", "question_type"];
export const MMMU_OPTIONAL_COLUMNS = ["explanation", "img_type", "topic_difficulty", "subfield", ...imageColumns];

export const MC_INSTRUCTION = "Answer with the option's letter from the given choices directly.";
export const OPEN_INSTRUCTION = "Answer the question using a single word or phrase.";

/** The authors' question text: a multiple-choice question's options as "(A) opt" lines. */
export function questionText(question: string, options: readonly string[], multipleChoice: boolean): string {
  if (!multipleChoice) return question;
  return `${question}\n${options.map((o, i) => `(${String.fromCharCode(65 + i)}) ${o}\n`).join("")}`;
}

export function mmmuPrompt(question: string, options: readonly string[], multipleChoice: boolean): string {
  const text = questionText(question, options, multipleChoice);
  return multipleChoice ? `${text}\n${MC_INSTRUCTION}` : `${text}\n${OPEN_INSTRUCTION}`;
}

function parseList(text: string | string[], what: string, id: string): string[] {
  if (Array.isArray(text)) return text;
  try {
    return parsePythonStringList(text);
  } catch (e) {
    throw new Error(`row ${id}: ${what}: ${(e as Error).message}`);
  }
}

/** `stem` names the row's image files (normally from its id); `subject` is the config it came from. */
export function formatMmmuRow(raw: unknown, stem: string, subject: string): Formatted {
  const row = MmmuRowSchema.parse(raw) as z.infer<typeof MmmuRowSchema> &
    Record<(typeof imageColumns)[number], z.infer<typeof ImageCell>>;
  const options = parseList(row.options, "options", row.id);
  const multipleChoice = row.question_type === "multiple-choice";
  const images: ImageOut[] = [];
  const imageFields: Record<string, string> = {};
  for (const [i, col] of imageColumns.entries()) {
    const cell = row[col];
    if (!cell?.bytes || cell.bytes.length === 0) continue;
    const relPath = `images/${stem}_${i + 1}.${imageExt(cell.bytes, cell.path)}`;
    imageFields[col] = relPath;
    images.push({ relPath, bytes: cell.bytes });
  }
  const warnings: string[] = [];
  for (const m of new Set([row.question, ...options].join("\n").match(/<image (\d+)>/g) ?? [])) {
    const n = /\d+/.exec(m)?.[0];
    if (!imageFields[`image_${n}`]) warnings.push(`row ${row.id}: ${m} has no image_${n}`);
  }
  const letters = options.map((_, i) => String.fromCharCode(65 + i));
  let imgType: unknown = row.img_type ?? null;
  if (typeof imgType === "string" && imgType.startsWith("[")) {
    try {
      imgType = parsePythonStringList(imgType);
    } catch {
      // not a list repr: keep the text
    }
  }
  return {
    record: {
      problem: mmmuPrompt(row.question, options, multipleChoice),
      question_text: questionText(row.question, options, multipleChoice),
      ...imageFields,
      // The test split's answers are withheld ("?"): no expected answer, no verdict (not all wrong).
      expected_answer: row.answer === "?" ? null : row.answer,
      subset_for_metrics: subject,
      id: row.id,
      question_type: row.question_type,
      options,
      ...(multipleChoice
        ? { all_choices: letters, index2ans: Object.fromEntries(letters.map((l, i) => [l, options[i]])) }
        : {}),
      subject,
      subfield: row.subfield ?? null,
      img_type: imgType,
      topic_difficulty: row.topic_difficulty ?? null,
      explanation: row.explanation ?? null,
    },
    images,
    warnings,
  };
}
