import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/errors.js";
import { pngDecodeProblem } from "../../src/images/png-verify.js";
import { prepareImage } from "../../src/images/prepare-image.js";
import { chunk, ihdr, PNG_SIGNATURE } from "./header-bytes.js";
import { opts } from "./helpers.js";

// verify: decode checks a PNG with node's zlib (png-verify.ts), following PIL: pre-IDAT chunks'
// CRCs, the consecutive IDATs inflating to every scanline with filter types 0-4.

/** sharp's answer to the same question: does a full decode of the first frame succeed? */
async function sharpDecodes(b: Buffer): Promise<boolean> {
  try {
    await sharp(b, { failOn: "error", pages: 1 }).raw().toBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Noise (it does not compress, so the image data spans many bytes and IDAT chunks). */
function noise(w: number, h: number, channels: 1 | 2 | 3 | 4, seed = 7): Buffer {
  const raw = Buffer.alloc(w * h * channels);
  for (let i = 0; i < raw.length; i++) raw[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return raw;
}

const made = async (channels: 1 | 2 | 3 | 4, png: sharp.PngOptions, w = 61, h = 37, depth?: "ushort") => {
  let img = sharp(noise(w, h, channels), { raw: { width: w, height: h, channels } });
  if (depth) img = img.toColourspace(channels <= 2 ? "grey16" : "rgb16");
  return img.png(png).toBuffer();
};

/** A PNG from explicit scanlines (filter byte first), deflated, split into IDATs of `split` bytes. */
function fromScanlines(
  w: number,
  h: number,
  depth: number,
  colour: number,
  raw: Buffer,
  split = 1 << 20,
  interlace = 0,
) {
  const z = deflateSync(raw);
  const parts: Buffer[] = [];
  for (let i = 0; i < z.length; i += split) parts.push(chunk("IDAT", z.subarray(i, i + split)));
  return Buffer.concat([PNG_SIGNATURE, ihdr(w, h, depth, colour, interlace), ...parts, chunk("IEND")]);
}

/** Offsets of each chunk: [type, start, dataStart, dataEnd]. */
function chunks(b: Buffer): [string, number, number, number][] {
  const out: [string, number, number, number][] = [];
  for (let at = 8; at + 8 <= b.length; ) {
    const n = b.readUInt32BE(at);
    out.push([b.toString("latin1", at + 4, at + 8), at, at + 8, at + 8 + n]);
    at += 12 + n;
  }
  return out;
}

describe("pngDecodeProblem", () => {
  it("accepts what sharp decodes: every colour type, 16-bit, palettes, Adam7 interlacing, many IDATs", async () => {
    const files = [
      await made(3, {}),
      await made(4, {}),
      await made(1, {}),
      await made(2, {}),
      await made(3, {}, 61, 37, "ushort"),
      await made(1, {}, 61, 37, "ushort"),
      await made(3, { palette: true }),
      await made(3, { palette: true, colours: 2 }),
      await made(3, { progressive: true }),
      await made(4, { progressive: true, palette: true }),
      await made(3, {}, 600, 400),
    ];
    // Interlaced images so small that some of the seven passes are empty.
    for (const [w, h] of [
      [1, 1],
      [2, 3],
      [5, 1],
      [1, 9],
    ] as const)
      files.push(await made(3, { progressive: true }, w, h));
    for (const f of files) {
      expect(await sharpDecodes(f)).toBe(true);
      expect(await pngDecodeProblem(f)).toBeNull();
    }
  });

  it("calls a file cut anywhere in its image data truncated, as sharp refuses it", async () => {
    for (const f of [await made(3, {}, 120, 90), await made(3, { progressive: true }, 120, 90)]) {
      const idats = chunks(f).filter((c) => c[0] === "IDAT");
      const from = idats[0]![2];
      const to = idats.at(-1)![3];
      for (let cut = from; cut < to; cut += Math.max(1, Math.floor((to - from) / 23))) {
        const short = f.subarray(0, cut);
        expect(await pngDecodeProblem(short)).toMatchObject({ truncated: true });
        expect(await sharpDecodes(short)).toBe(false);
      }
      // Image data whole, IEND (and the last CRC) missing: PIL has every pixel and reads no further.
      expect(await pngDecodeProblem(f.subarray(0, to))).toBeNull();
    }
  });

  it("accepts image data cut after its last scanline (the Adler-32 missing), as PIL decodes it, however many pieces it takes", async () => {
    // 300x300 noise: ~270 KB of image data, inflated in several 64 KB pieces.
    for (const f of [await made(3, {}, 300, 300), await made(3, { progressive: true }, 300, 300)]) {
      const end = chunks(f)
        .filter((c) => c[0] === "IDAT")
        .at(-1)![3];
      // The last 4 bytes of the zlib stream are its Adler-32; the bytes before, the final block's end.
      for (const missing of [1, 2, 3, 4]) expect(await pngDecodeProblem(f.subarray(0, end - missing))).toBeNull();
      // Pixels missing: truncated, whatever piece the cut falls in.
      expect(await pngDecodeProblem(f.subarray(0, end - 200))).toMatchObject({ truncated: true });
      // A wrong Adler-32 is corrupt data (PIL: broken data stream).
      const bad = Buffer.from(f);
      bad[end - 1] = bad[end - 1]! ^ 0xff;
      expect(await pngDecodeProblem(bad)).toMatchObject({ reason: expect.stringMatching(/incorrect data check/) });
    }
  });

  it("refuses corrupt image data that sharp refuses", async () => {
    const f = await made(3, {}, 120, 90);
    const [, , start, end] = chunks(f).find((c) => c[0] === "IDAT")!;
    let refused = 0;
    for (let k = 1; k <= 12; k++) {
      const bad = Buffer.from(f);
      const at = start + Math.floor(((end - start) * k) / 13);
      bad[at] = bad[at]! ^ 0xff;
      // The IDAT's CRC is now wrong too: PIL does not check it, so neither does this.
      const ours = await pngDecodeProblem(bad);
      if (ours) refused++;
      // Whatever zlib finds (a bad block, a bad Adler-32), sharp finds too.
      if (ours) expect(await sharpDecodes(bad)).toBe(false);
    }
    expect(refused).toBe(12);
  });

  it("refuses a scanline filter type over 4 and takes the IDATs run from the first only", async () => {
    const w = 4;
    const h = 3;
    const line = 1 + w * 3;
    const raw = Buffer.alloc(line * h);
    expect(await pngDecodeProblem(fromScanlines(w, h, 8, 2, raw))).toBeNull();
    raw[line * 2] = 5;
    expect(await pngDecodeProblem(fromScanlines(w, h, 8, 2, raw))).toEqual({
      reason: "scanline 2 has filter type 5",
      truncated: false,
    });
    raw[line * 2] = 4;
    // Every byte its own IDAT: still one image.
    const split = fromScanlines(w, h, 8, 2, raw, 1);
    expect(await pngDecodeProblem(split)).toBeNull();
    // Another chunk between two IDATs ends the image data there (PIL stops at it).
    const cs = chunks(split);
    const second = cs.filter((c) => c[0] === "IDAT")[1]!;
    const interrupted = Buffer.concat([
      split.subarray(0, second[1]),
      chunk("tEXt", Buffer.from("k\0v")),
      split.subarray(second[1]),
    ]);
    expect(await pngDecodeProblem(interrupted)).toMatchObject({ truncated: true });
    // Data past the last scanline is ignored.
    const extra = fromScanlines(w, h, 8, 2, Buffer.concat([raw, Buffer.alloc(50, 9)]));
    expect(await pngDecodeProblem(extra)).toBeNull();
  });

  it("checks the CRCs of the chunks before the image data (PIL: broken PNG file), not of IDAT", async () => {
    const raw = Buffer.alloc((1 + 3) * 2);
    const good = fromScanlines(1, 2, 8, 2, raw);
    const withChunk = (c: Buffer) => {
      const at = chunks(good).find((x) => x[0] === "IDAT")![1];
      return Buffer.concat([good.subarray(0, at), c, good.subarray(at)]);
    };
    expect(await pngDecodeProblem(withChunk(chunk("gAMA", Buffer.from([0, 0, 0xb1, 0x8f]))))).toBeNull();
    expect(await pngDecodeProblem(withChunk(chunk("gAMA", Buffer.from([0, 0, 0xb1, 0x8f]), true)))).toEqual({
      reason: 'broken PNG file (bad checksum in "gAMA")',
      truncated: false,
    });
    const idatAt = chunks(good).find((x) => x[0] === "IDAT")!;
    const badIdatCrc = Buffer.from(good);
    badIdatCrc[idatAt[3]] = badIdatCrc[idatAt[3]]! ^ 1;
    expect(await pngDecodeProblem(badIdatCrc)).toBeNull();
  });

  it("says what is wrong with a file that has no image data or a broken header", async () => {
    const noData = Buffer.concat([PNG_SIGNATURE, ihdr(2, 2, 8, 2), chunk("IEND")]);
    expect(await pngDecodeProblem(noData)).toEqual({ reason: "no image data (IDAT)", truncated: true });
    const cut = Buffer.concat([PNG_SIGNATURE, ihdr(2, 2, 8, 2)]).subarray(0, 20);
    expect(await pngDecodeProblem(cut)).toMatchObject({ truncated: true });
  });
});

describe("verify: decode on a PNG", () => {
  it("refuses a truncated PNG with IMAGE_DECODE naming the file, and keeps a whole one", async () => {
    const f = await made(3, {}, 120, 90);
    expect(await prepareImage(f, "chart.png", opts({ verify: "decode" }))).toMatchObject({ changed: false });
    await expect(
      prepareImage(f.subarray(0, f.length - 400), "chart.png", opts({ verify: "decode" })),
    ).rejects.toMatchObject({
      code: ErrorCodes.IMAGE_DECODE,
      message: expect.stringMatching(/^chart\.png: cannot decode png 120x90: .* \(the file is truncated\)$/),
    });
  });
});
