import sharp from "sharp";
import { type ImageOptions, ImageOptionsSchema } from "../../src/images/options.js";

/** Parsed options: the schema's defaults plus `over`. */
export function opts(over: Record<string, unknown> = {}): ImageOptions {
  return ImageOptionsSchema.parse(over);
}

/** What the server receives: the data URL taken apart and decoded with sharp. */
export async function received(url: string) {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!m) throw new Error(`not a base64 data URL: ${url.slice(0, 60)}`);
  const bytes = Buffer.from(m[2]!, "base64");
  const meta = await sharp(bytes).metadata();
  return {
    mime: m[1]!,
    bytes,
    meta,
    /** RGB(A) of the pixel at (x, y), first frame. */
    async pixel(x: number, y: number): Promise<number[]> {
      const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
      const o = (y * info.width + x) * info.channels;
      return Array.from(data.subarray(o, o + info.channels));
    },
  };
}

/** Whether two colours are within `tol` per channel (lossy codecs, colour conversions). */
export function near(actual: number[], expected: number[], tol = 12): boolean {
  return expected.every((v, i) => Math.abs((actual[i] ?? -999) - v) <= tol);
}
