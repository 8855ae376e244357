import { constants, createInflate } from "node:zlib";
import { crc32 } from "./crc32.js";

/**
 * Why a PNG would not decode, or null when it would. What `verify: decode` checks for a PNG,
 * with node's zlib instead of sharp (so a run of PNGs never loads sharp), following PIL, the
 * server's decoder:
 * - the chunks before the first IDAT carry their CRCs (PIL raises "broken PNG file");
 * - the image data is the run of consecutive IDAT chunks from the first (PIL stops at any
 *   other chunk), and inflates without a zlib error to at least the bytes the header implies
 *   (scanlines, each with a filter type byte of 0-4, through the seven passes if interlaced):
 *   less is a truncated file. Bytes past the image are ignored, as PIL ignores them.
 * The data is inflated as a stream and dropped as it comes: memory stays flat whatever the
 * image's size (its pixel count was bounded by the header check before this runs).
 */
export async function pngDecodeProblem(bytes: Buffer): Promise<PngProblem | null> {
  const layout = readLayout(bytes);
  if ("problem" in layout) return layout.problem;
  return inflateScanlines(layout.idat, layout.rows);
}

export type PngProblem = { reason: string; truncated: boolean };

type Layout = { idat: Buffer[]; rows: Rows[] };
/** `count` scanlines of `bytes` bytes each, filter type byte included. */
type Rows = { count: number; bytes: number };

const PIECE = 64 * 1024;
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7: x0, y0, dx, dy of each pass.
const PASSES = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

function readLayout(b: Buffer): Layout | { problem: PngProblem } {
  const fail = (reason: string, truncated = false) => ({ problem: { reason, truncated } });
  let at = 8; // the signature, checked when the format was sniffed
  let rows: Rows[] | undefined;
  const idat: Buffer[] = [];
  while (at + 8 <= b.length) {
    const length = b.readUInt32BE(at);
    const type = b.toString("latin1", at + 4, at + 8);
    const data = at + 8;
    const end = data + length + 4;
    if (length > 0x7fffffff) return fail(`chunk ${JSON.stringify(type)} claims ${length} bytes`);
    if (type === "IDAT") {
      if (!rows) return fail("IDAT before IHDR");
      // A short last IDAT still gives what it holds: the inflate then says how much is missing.
      idat.push(b.subarray(data, Math.min(data + length, b.length)));
      if (end > b.length) return { idat, rows };
      at = end;
      continue;
    }
    if (idat.length > 0) return { idat, rows: rows! };
    if (end > b.length) return fail(`chunk ${JSON.stringify(type)} is cut short`, true);
    if (crc32(b, at + 4, data + length) !== b.readUInt32BE(data + length))
      return fail(`broken PNG file (bad checksum in ${JSON.stringify(type)})`);
    if (!rows) {
      if (type !== "IHDR" || length < 13) return fail("the first chunk is not IHDR");
      const header = ihdrRows(b, data);
      if (typeof header === "string") return fail(header);
      rows = header;
    }
    if (type === "IEND") break;
    at = end;
  }
  if (idat.length > 0) return { idat, rows: rows! };
  return fail("no image data (IDAT)", true);
}

function ihdrRows(b: Buffer, at: number): Rows[] | string {
  const width = b.readUInt32BE(at);
  const height = b.readUInt32BE(at + 4);
  const depth = b[at + 8]!;
  const colour = b[at + 9]!;
  const interlace = b[at + 12]!;
  const channels = CHANNELS[colour];
  if (!channels) return `colour type ${colour} is not a PNG colour type`;
  if (![1, 2, 4, 8, 16].includes(depth)) return `bit depth ${depth} is not a PNG bit depth`;
  if (interlace > 1) return `interlace method ${interlace} is unknown`;
  const bits = channels * depth;
  const line = (w: number) => 1 + Math.ceil((w * bits) / 8);
  if (interlace === 0) return [{ count: height, bytes: line(width) }];
  const rows: Rows[] = [];
  for (const [x0, y0, dx, dy] of PASSES) {
    const w = Math.ceil(Math.max(0, width - x0) / dx);
    const h = Math.ceil(Math.max(0, height - y0) / dy);
    // An empty pass has no scanlines at all, not even filter bytes.
    if (w > 0 && h > 0) rows.push({ count: h, bytes: line(w) });
  }
  return rows;
}

/** Inflates the image data as it streams, checking each scanline's filter type byte. */
function inflateScanlines(idat: Buffer[], rows: Rows[]): Promise<PngProblem | null> {
  return new Promise((resolve) => {
    // 64 KB pieces each way: the stream does one thread-pool round trip per piece, and a PNG's
    // IDAT chunks are often 8 KB; a 2000x2000 image took ~2x sharp's decode with node's 16 KB
    // defaults, about the same with these. (Under glibc's 128 KB mmap threshold, the output
    // buffers are reused heap, not fresh pages.)
    // Input that stops without the stream's end ends the stream instead of failing it (Z_FINISH
    // would drop the last piece's output with its error): data cut after the last scanline,
    // where only the final deflate code and the Adler-32 are missing, is an image PIL decodes,
    // since it stops inflating once it has every row. A wrong Adler-32 it does see, and so does this.
    const inflate = createInflate({ chunkSize: PIECE, finishFlush: constants.Z_SYNC_FLUSH });
    let pass = 0;
    let row = 0;
    // Bytes left of the current scanline; 0 means the next byte is a filter type.
    let left = 0;
    let settled = false;
    const finish = (p: PngProblem | null) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      resolve(p);
    };
    inflate.on("data", (chunk: Buffer) => {
      let i = 0;
      while (i < chunk.length) {
        if (left > 0) {
          const n = Math.min(left, chunk.length - i);
          left -= n;
          i += n;
          continue;
        }
        if (row === rows[pass]!.count) {
          pass++;
          row = 0;
          if (pass === rows.length) return finish(null); // the image is whole; the rest is ignored
        }
        const filter = chunk[i]!;
        if (filter > 4) return finish({ reason: `scanline ${row} has filter type ${filter}`, truncated: false });
        left = rows[pass]!.bytes - 1;
        row++;
        i++;
      }
    });
    inflate.on("end", () => {
      const whole = pass === rows.length || (pass === rows.length - 1 && row === rows[pass]!.count && left === 0);
      finish(whole ? null : { reason: "the image data ends early", truncated: true });
    });
    inflate.on("error", (e: NodeJS.ErrnoException) =>
      finish({
        reason: `zlib: ${e.message}`,
        truncated: e.code === "Z_BUF_ERROR" || /unexpected end/i.test(e.message),
      }),
    );
    let group: Buffer[] = [];
    let size = 0;
    const writeGroup = () => {
      inflate.write(group.length === 1 ? group[0]! : Buffer.concat(group, size));
      group = [];
      size = 0;
    };
    for (const part of idat) {
      group.push(part);
      size += part.length;
      if (size >= PIECE) writeGroup();
    }
    if (size > 0) writeGroup();
    inflate.end();
  });
}
