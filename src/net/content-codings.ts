import zlib from "node:zlib";

/** What a body may be coded with and vlmpipe undoes: gzip, deflate (zlib-wrapped, RFC 9110) and br. */
export type Decoder = zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;

const SUPPORTED = new Set(["gzip", "x-gzip", "deflate", "br"]);

/** The codings a Content-Encoding header lists, in the order they were applied (`identity` left out). */
export function contentCodings(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  return (Array.isArray(header) ? header.join(",") : header)
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/** The first of `codings` no decoder here undoes, if any. */
export function unsupportedCoding(codings: string[]): string | undefined {
  return codings.find((c) => !SUPPORTED.has(c));
}

/**
 * Decoders undoing `codings` (all supported), in the order the bytes go through them: the last
 * coding applied is undone first. They flush as they go, so a stream's events come out as soon
 * as their bytes are in.
 */
export function decodersFor(codings: string[]): Decoder[] {
  return [...codings].reverse().map((coding) => {
    if (coding === "br") return zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH });
    if (coding === "deflate") return zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH });
    return zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH });
  });
}
