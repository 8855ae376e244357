/**
 * One ChartQA row (hub HuggingFaceM4/ChartQA: image, query, label, human_or_machine) -> one JSONL
 * record and its chart. The test split mixes the two question sets; `human_or_machine` (a class
 * label, 0 human, 1 machine) becomes `subset_for_metrics` human / augmented, the names of the
 * paper's two test sets. The data has no ids: `chartqa_<split>_<position>`.
 */
import { z } from "zod";
import type { Formatted } from "../shared/hub-prepare.js";
import { imageExt, withoutImage } from "../shared/image-ext.js";

export const ChartQaRowSchema = z.object({
  image: z.object({ bytes: z.instanceof(Uint8Array), path: z.string().nullish() }),
  query: z.string(),
  label: z.array(z.string()).min(1),
  human_or_machine: z
    .union([z.number(), z.bigint()])
    .transform(Number)
    .pipe(z.union([z.literal(0), z.literal(1)])),
});

export const CHARTQA_COLUMNS = ["image", "query", "label", "human_or_machine"];
export const CHARTQA_SUBSETS = ["human", "augmented"] as const;

/** null for a row without its chart (a NULL image): left out and counted, as MMMU-Pro's are. */
export function formatChartQaRow(raw: unknown, split: string, position: number): Formatted | null {
  if (withoutImage(raw)) return null;
  const row = ChartQaRowSchema.parse(raw);
  const id = `chartqa_${split}_${position}`;
  const relPath = `images/${id}.${imageExt(row.image.bytes, row.image.path)}`;
  return {
    record: {
      problem: row.query,
      image_path: relPath,
      expected_answer: row.label[0],
      answers: row.label,
      subset_for_metrics: CHARTQA_SUBSETS[row.human_or_machine],
      id,
    },
    images: [{ relPath, bytes: row.image.bytes }],
  };
}
