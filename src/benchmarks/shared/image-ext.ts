/**
 * The file extension of an encoded image, from its magic numbers: images are written with
 * their own bytes, so the name must say what they are (a JPEG named .png trips up loaders
 * that trust the extension, and the data: URL's MIME type is taken from it).
 */
export function imageExtFromBytes(b: Uint8Array): string | undefined {
  const at = (i: number, ...bytes: number[]) => bytes.every((x, k) => b[i + k] === x);
  const ascii = (i: number, s: string) => at(i, ...[...s].map((c) => c.charCodeAt(0)));
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (at(0, 0xff, 0xd8, 0xff)) return "jpg";
  if (ascii(0, "GIF87a") || ascii(0, "GIF89a")) return "gif";
  if (ascii(0, "RIFF") && ascii(8, "WEBP")) return "webp";
  if (ascii(0, "BM")) return "bmp";
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  return undefined;
}

/** Extension from magic numbers, else from the struct's original file name, else "bin". */
export function imageExt(bytes: Uint8Array, path?: string | null): string {
  const fromBytes = imageExtFromBytes(bytes);
  if (fromBytes) return fromBytes;
  const fromName = /\.([A-Za-z0-9]{2,5})$/.exec(path ?? "")?.[1]?.toLowerCase();
  return fromName ?? "bin";
}

/** A hub row whose `image` is NULL, or a struct without bytes (a row the dataset lost its image for). */
export function withoutImage(raw: unknown): boolean {
  const image = (raw as { image?: unknown } | null)?.image;
  if (image === null || image === undefined) return true;
  const bytes = (image as { bytes?: unknown }).bytes;
  return !(bytes instanceof Uint8Array) || bytes.length === 0;
}
