import type { OperatorFunction } from "rxjs";
import { type ResolveContext, resolveImage, resolveImageNow } from "../images/resolve-image.js";
import type { Sample } from "../types.js";
import { concurrentMap } from "./concurrent-map.js";

export type ResolveImagesOptions = Omit<ResolveContext, "signal"> & {
  /** Rows whose images are read and encoded at once (file reads and sharp work overlap). */
  concurrency?: number;
  /** The run's graceful stop: rows whose images are not being read yet are dropped, not read. */
  stop?: AbortSignal;
};

/**
 * Replaces every image reference in `sample.messages` by a URL the server accepts: local files
 * are read, checked and sent as base64 data URLs; http(s) and data: URLs pass through. Runs just
 * before generate so only rows about to be sent hold encoded images.
 * Give it a cache (createImageCache) so an image used by many rows or seeds is encoded once.
 * Records VLM_E_IMAGE_NOT_FOUND / VLM_E_IMAGE_READ / VLM_E_IMAGE_DECODE / VLM_E_IMAGE_TOO_LARGE.
 */
export function resolveImages(opts: ResolveImagesOptions): OperatorFunction<Sample, Sample> {
  const { concurrency = 8, stop, ...ctx } = opts;
  const known = (ref: string) => resolveImageNow(ref, ctx);
  return concurrentMap(
    async (s, signal) => {
      const rowCtx = { ...ctx, signal };
      const urls = await Promise.all(imageRefs(s).map((ref) => resolveImage(ref, rowCtx)));
      return withImageUrls(s, (_, k) => urls[k]) as Sample;
    },
    // Text-only rows, and rows whose images are all known at once, skip the async step.
    {
      stage: "resolveImages",
      limit: concurrency,
      skip: (s) => !hasImage(s),
      now: (s) => withImageUrls(s, known),
      stop,
    },
  );
}

/**
 * The row with the URL of its k-th image part (in message order) replaced by `urlOf(url, k)`;
 * undefined as soon as that is undefined. Messages with text content are kept as they are.
 */
function withImageUrls(s: Sample, urlOf: (url: string, k: number) => string | undefined): Sample | undefined {
  const messages = s.messages!.slice();
  let k = 0;
  for (let j = 0; j < messages.length; j++) {
    const m = messages[j]!;
    if (typeof m.content === "string") continue;
    const content = m.content.slice();
    for (let i = 0; i < content.length; i++) {
      const p = content[i]!;
      if (p.type !== "image_url") continue;
      const url = urlOf(p.image_url.url, k++);
      if (url === undefined) return undefined;
      content[i] = { ...p, image_url: { ...p.image_url, url } };
    }
    messages[j] = { ...m, content };
  }
  return { ...s, messages };
}

/** The URLs of the row's image parts, in message order. */
function imageRefs(s: Sample): string[] {
  const refs: string[] = [];
  for (const m of s.messages ?? []) {
    if (typeof m.content === "string") continue;
    for (const p of m.content) if (p.type === "image_url") refs.push(p.image_url.url);
  }
  return refs;
}

function hasImage(s: Sample): boolean {
  if (!s.messages) return false;
  for (const m of s.messages) {
    if (typeof m.content === "string") continue;
    for (const p of m.content) if (p.type === "image_url") return true;
  }
  return false;
}
