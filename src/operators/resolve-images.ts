import type { OperatorFunction } from "rxjs";
import { type ResolveContext, resolveImage, resolveImageNow } from "../images/resolve-image.js";
import type { ContentPart, Sample } from "../types.js";
import { concurrentMap } from "./concurrent-map.js";

export type ResolveImagesOptions = Omit<ResolveContext, "signal"> & {
  /** Rows whose images are read and encoded at once (file reads and sharp work overlap). */
  concurrency?: number;
};

/**
 * Replaces every image reference in `sample.messages` by a URL the server accepts: local files
 * are read, checked and sent as base64 data URLs; http(s) and data: URLs pass through. Runs just
 * before generate so only rows about to be sent hold encoded images.
 * Give it a cache (createImageCache) so an image used by many rows or seeds is encoded once.
 * Records VLM_E_IMAGE_NOT_FOUND / VLM_E_IMAGE_READ / VLM_E_IMAGE_DECODE / VLM_E_IMAGE_TOO_LARGE.
 */
export function resolveImages(opts: ResolveImagesOptions): OperatorFunction<Sample, Sample> {
  const { concurrency = 8, ...ctx } = opts;
  return concurrentMap(
    async (s, signal) => {
      if (!s.messages) return s;
      const rowCtx = { ...ctx, signal };
      const messages = await Promise.all(
        s.messages.map(async (m) =>
          typeof m.content === "string"
            ? m
            : { ...m, content: await Promise.all(m.content.map((p) => resolvePart(p, rowCtx))) },
        ),
      );
      return { ...s, messages };
    },
    // Text-only rows, and rows whose images are all known at once, skip the async step.
    { stage: "resolveImages", limit: concurrency, skip: (s) => !hasImage(s), now: (s) => resolvedNow(s, ctx) },
  );
}

/** The row with its images resolved, when resolveImageNow knows them all; else undefined. */
function resolvedNow(s: Sample, ctx: Omit<ResolveContext, "signal">): Sample | undefined {
  const messages = s.messages!.slice();
  for (let j = 0; j < messages.length; j++) {
    const m = messages[j]!;
    if (typeof m.content === "string") continue;
    const content = m.content.slice();
    for (let i = 0; i < content.length; i++) {
      const p = content[i]!;
      if (p.type !== "image_url") continue;
      const url = resolveImageNow(p.image_url.url, ctx);
      if (url === undefined) return undefined;
      content[i] = { ...p, image_url: { ...p.image_url, url } };
    }
    messages[j] = { ...m, content };
  }
  return { ...s, messages };
}

async function resolvePart(p: ContentPart, ctx: ResolveContext): Promise<ContentPart> {
  if (p.type !== "image_url") return p;
  return { ...p, image_url: { ...p.image_url, url: await resolveImage(p.image_url.url, ctx) } };
}

function hasImage(s: Sample): boolean {
  if (!s.messages) return false;
  for (const m of s.messages) {
    if (typeof m.content === "string") continue;
    for (const p of m.content) if (p.type === "image_url") return true;
  }
  return false;
}
