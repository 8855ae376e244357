import { z } from "zod";
import { ImageOptionsSchema } from "../images/options.js";

/** Few-shot examples: `{examples}` in the user template becomes prefix + template(each) + suffix ("" with no items, as in NeMo-Skills). */
export const ExamplesSchema = z
  .object({
    prefix: z.string().default(""),
    template: z.string(),
    suffix: z.string().default(""),
    items: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

/**
 * A prompt config (prompts/**.yaml). `{field}` placeholders are filled from the row;
 * `{{` and `}}` are literal braces.
 */
export const PromptConfigSchema = z
  .object({
    /** The system message (a template, filled from the row); none when absent, an empty one when "". */
    system: z.string().optional(),
    user: z.string(),
    /** Row field(s) holding image references; a field's value may be one reference or a list. */
    image_field: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    /**
     * before/after: all images before or after the text.
     * markers: the text is split at each image marker and the image is placed there
     * (MMMU-style `<image 1>`), the image taken from `image_marker_field`.
     */
    image_position: z.enum(["before", "after", "markers"]).default("before"),
    /** The marker text; `{n}` stands for the image number. */
    image_marker: z.string().default("<image {n}>"),
    /** The row field holding image number n. */
    image_marker_field: z.string().default("image_{n}"),
    examples: ExamplesSchema.optional(),
    /** Image handling (validation, conversion, bounds, cache); `++image.*` overrides it. */
    image: ImageOptionsSchema.optional(),
    /** Merged into every request body, e.g. mm_processor_kwargs: {max_pixels: ...}. */
    extra_body: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type PromptConfig = z.infer<typeof PromptConfigSchema>;
