import type { ErrorCode } from "./errors.js";

/** One part of an OpenAI chat message's content list. */
export type TextPart = { type: "text"; text: string };
export type ImagePart = { type: "image_url"; image_url: { url: string; detail?: string } };
export type ContentPart = TextPart | ImagePart;

export type ChatMessage = {
  role: "system" | "user" | "assistant";
  content: string | ContentPart[];
};

/** A row's failure, recorded on its output line; the run goes on. */
export type SampleError = {
  stage: string;
  /** One of ErrorCodes (src/errors.ts); each is described in docs/errors.md. */
  code: ErrorCode;
  message: string;
  attempts?: number;
  status?: number;
};

/** The input line a row was parsed from (see src/output/row-source.ts). */
export type RowSource = { row: Record<string, unknown>; text: string };

/**
 * The envelope every operator receives and passes on.
 * `row` is the input row, never modified; `out` holds what this run adds.
 */
export type Sample = {
  /** 0-based position in the input: the resume key. */
  index: number;
  row: Record<string, unknown>;
  /**
   * The line `row` was read from (readRows; not for lines over 256 KB): output lines repeat
   * it while `row` is still `source.row`, so a chain that replaces the row gets it serialised.
   */
  source?: RowSource;
  /** The input line's rowDigest (readRows' `digests`): written with the row so resume can check the input. */
  digest?: number;
  /** Built by renderPrompt; never written out (base64 is large). */
  messages?: ChatMessage[];
  out: Record<string, unknown>;
  error?: SampleError;
};
