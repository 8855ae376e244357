/**
 * One DocVQA row (hub lmms-lab/DocVQA, config DocVQA: questionId, question, question_types,
 * image, docId, ucsf_document_id, ucsf_document_page_no, answers, data_split) -> one JSONL record.
 * Several questions ask about one page: its image is written once, named by docId.
 */
import { z } from "zod";
import type { Formatted } from "../shared/hub-prepare.js";
import { imageExt, withoutImage } from "../shared/image-ext.js";

export const DocVqaRowSchema = z.object({
  questionId: z.union([z.string(), z.number(), z.bigint()]).transform(String),
  question: z.string(),
  question_types: z.array(z.string()).nullish(),
  image: z.object({ bytes: z.instanceof(Uint8Array), path: z.string().nullish() }),
  docId: z.union([z.number(), z.bigint()]).transform(Number),
  ucsf_document_id: z.string().nullish(),
  ucsf_document_page_no: z.string().nullish(),
  answers: z.array(z.string()).nullish(),
});

export const DOCVQA_COLUMNS = ["questionId", "question", "image", "docId", "answers"];
export const DOCVQA_OPTIONAL_COLUMNS = ["question_types", "ucsf_document_id", "ucsf_document_page_no"];

/** null for a row without its page (a NULL image): left out and counted, as MMMU-Pro's are. */
export function formatDocVqaRow(raw: unknown): Formatted | null {
  if (withoutImage(raw)) return null;
  const row = DocVqaRowSchema.parse(raw);
  const relPath = `images/doc_${row.docId}.${imageExt(row.image.bytes, row.image.path)}`;
  const answers = row.answers ?? [];
  return {
    record: {
      problem: row.question,
      image_path: relPath,
      // The test split's answers are withheld (empty): no expected answer, no verdict.
      expected_answer: answers[0] ?? null,
      answers,
      id: row.questionId,
      question_types: row.question_types ?? [],
      doc_id: row.docId,
      ucsf_document_id: row.ucsf_document_id ?? null,
      ucsf_document_page_no: row.ucsf_document_page_no ?? null,
    },
    images: [{ relPath, bytes: row.image.bytes }],
  };
}
