import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { readPngHeader } from "../../src/images/png-header.js";
import { sharpInfo } from "../../src/images/probe-image.js";
import {
  chunk,
  expectLeftToSharp,
  expectSame,
  idat,
  ihdr,
  mutantsAgreeWithSharp,
  orientationTiff,
  PNG_SIGNATURE,
  pngFile,
  tiff,
} from "./header-bytes.js";

// readPngHeader must give what sharpInfo (sharp's metadata()) gives for the same bytes, or
// leave the file to sharp (null). Every case compares with the real sharp.

const rgb = () => sharp({ create: { width: 8, height: 6, channels: 3, background: "#c83" } });
const rgba = () =>
  sharp({ create: { width: 8, height: 6, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 0.5 } } });
const PLTE = chunk("PLTE", Buffer.from([255, 0, 0, 0, 0, 255, 0, 255, 0]));
/** Two entries: fits every palette depth, 1-bit included. */
const PLTE2 = chunk("PLTE", Buffer.from([255, 0, 0, 0, 0, 255]));

describe("PNG written by sharp", () => {
  const cases: [string, () => Promise<Buffer>, Partial<Record<string, unknown>>][] = [
    ["RGB 8-bit", () => rgb().png().toBuffer(), { space: "srgb", channels: 3 }],
    ["RGB 16-bit", () => rgb().toColourspace("rgb16").png().toBuffer(), { space: "rgb16", highBitDepth: true }],
    ["RGBA 8-bit", () => rgba().png().toBuffer(), { channels: 4, hasAlpha: true }],
    ["RGBA 16-bit", () => rgba().toColourspace("rgb16").png().toBuffer(), { space: "rgb16", hasAlpha: true }],
    ["grey 8-bit", () => rgb().toColourspace("b-w").png().toBuffer(), { space: "b-w", grey: true }],
    ["grey 16-bit", () => rgb().toColourspace("grey16").png().toBuffer(), { space: "grey16", highBitDepth: true }],
    ["grey+alpha 8-bit", () => rgba().toColourspace("b-w").png().toBuffer(), { channels: 2, hasAlpha: true }],
    ["grey+alpha 16-bit", () => rgba().toColourspace("grey16").png().toBuffer(), { space: "grey16", channels: 2 }],
    ["palette", () => rgb().png({ palette: true }).toBuffer(), { space: "srgb", channels: 3, hasAlpha: false }],
    ["palette 1-bit", () => rgb().png({ palette: true, colours: 2 }).toBuffer(), { channels: 3 }],
    ["palette with tRNS", () => rgba().png({ palette: true }).toBuffer(), { channels: 4, hasAlpha: true }],
    ["interlaced", () => rgb().png({ progressive: true }).toBuffer(), { width: 8, height: 6 }],
  ];
  for (const [name, make, expected] of cases) {
    it(`reads ${name} as sharp does`, async () => {
      expect(await expectSame(await make(), "png")).toMatchObject(expected);
    });
  }

  it("palette with tRNS really has a tRNS chunk (what the case above is about)", async () => {
    expect((await rgba().png({ palette: true }).toBuffer()).includes("tRNS")).toBe(true);
  });

  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`reads EXIF orientation ${orientation} from the eXIf chunk sharp writes`, async () => {
      const bytes = await rgb().withMetadata({ orientation }).png().toBuffer();
      expect(bytes.includes("eXIf")).toBe(true);
      expect((await expectSame(bytes, "png")).orientation).toBe(orientation);
    });
  }
});

describe("PNG built by hand (what sharp does not write)", () => {
  for (const depth of [1, 2, 4, 8, 16]) {
    it(`reads grey ${depth}-bit, with and without tRNS (grey+tRNS adds an alpha channel)`, async () => {
      expect(await expectSame(pngFile(5, 3, depth, 0), "png")).toMatchObject({ channels: 1, hasAlpha: false });
      const withTrns = pngFile(5, 3, depth, 0, [chunk("tRNS", Buffer.from([0, 1]))]);
      expect(await expectSame(withTrns, "png")).toMatchObject({ channels: 2, hasAlpha: true, grey: true });
    });
  }

  for (const depth of [1, 2, 4, 8]) {
    it(`reads a ${depth}-bit palette with and without tRNS`, async () => {
      expect(await expectSame(pngFile(5, 3, depth, 3, [PLTE2]), "png")).toMatchObject({ channels: 3 });
      const withTrns = pngFile(5, 3, depth, 3, [PLTE2, chunk("tRNS", Buffer.from([0, 128]))]);
      expect(await expectSame(withTrns, "png")).toMatchObject({ channels: 4, hasAlpha: true });
    });
  }

  for (const depth of [8, 16]) {
    it(`reads RGB ${depth}-bit with tRNS as RGBA`, async () => {
      const bytes = pngFile(5, 3, depth, 2, [chunk("tRNS", Buffer.alloc(6))]);
      expect(await expectSame(bytes, "png")).toMatchObject({ channels: 4, hasAlpha: true });
    });
  }

  it("reads an APNG (acTL, fcTL, fdAT) as one page, as sharp 0.34 does", async () => {
    const actl = Buffer.alloc(8);
    actl.writeUInt32BE(2, 0); // 2 frames, looping forever
    const fctl = (seq: number) => {
      const d = Buffer.alloc(26);
      d.writeUInt32BE(seq, 0);
      d.writeUInt32BE(5, 4);
      d.writeUInt32BE(3, 8);
      d.writeUInt16BE(1, 20);
      d.writeUInt16BE(10, 22);
      return chunk("fcTL", d);
    };
    const frame2 = Buffer.concat([Buffer.from([0, 0, 0, 2]), idat(5, 3, 8, 2).subarray(8, -4)]);
    const bytes = pngFile(5, 3, 8, 2, [chunk("acTL", actl), fctl(0)], [fctl(1), chunk("fdAT", frame2)]);
    expect((await sharp(bytes).metadata()).pages).toBeUndefined();
    expect(await expectSame(bytes, "png")).toMatchObject({ pages: 1 });
  });

  it("reads EXIF orientation from a big-endian eXIf, and 1 for out-of-range values", async () => {
    expect((await expectSame(pngFile(4, 3, 8, 2, [chunk("eXIf", orientationTiff(6, true))]), "png")).orientation).toBe(
      6,
    );
    for (const v of [0, 9, 65535])
      expect((await expectSame(pngFile(4, 3, 8, 2, [chunk("eXIf", orientationTiff(v))]), "png")).orientation).toBe(1);
  });

  it("ignores an orientation in IFD1 (the thumbnail's) and an eXIf after IDAT, as sharp does", async () => {
    const ifd1Only = tiff([[0x010f, 2, 1, 0]], { ifd1: [[0x0112, 3, 1, 6]] });
    expect((await expectSame(pngFile(4, 3, 8, 2, [chunk("eXIf", ifd1Only)]), "png")).orientation).toBe(1);
    const after = pngFile(4, 3, 8, 2, [], [chunk("eXIf", orientationTiff(6))]);
    expect((await expectSame(after, "png")).orientation).toBe(1);
  });

  it("sees an IFD0 only within libexif's 64 KB cut of a longer eXIf", async () => {
    const at = (ifd0: number) => {
      const b = Buffer.alloc(0x10000 + 32);
      b.write("II*\0", 0, "latin1");
      b.writeUInt32LE(ifd0, 4);
      b.set(orientationTiff(6).subarray(8, 22), ifd0);
      return pngFile(4, 3, 8, 2, [chunk("eXIf", b)]);
    };
    expect((await expectSame(at(0xfff8 - 14), "png")).orientation).toBe(6);
    expect((await expectSame(at(0xfff8 - 13), "png")).orientation).toBe(1);
  });

  it("reads past the ancillary chunks image tools write (gAMA, sRGB, pHYs, text, iCCP, unknown)", async () => {
    const bytes = pngFile(4, 3, 8, 6, [
      chunk("gAMA", Buffer.from([0, 0, 0xb1, 0x8f])),
      chunk("sRGB", Buffer.from([0])),
      chunk("pHYs", Buffer.from([0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1])),
      chunk("iCCP", Buffer.concat([Buffer.from("ICC Profile\0\0"), deflateSync(Buffer.alloc(3000, 7))])),
      chunk("tEXt", Buffer.from("Software\0some tool")),
      chunk("zTXt", Buffer.concat([Buffer.from("Comment\0\0"), deflateSync(Buffer.from("hello"))])),
      chunk("iTXt", Buffer.from("XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>")),
      chunk("vpAg", Buffer.alloc(9)),
      chunk("eXIf", orientationTiff(8)),
    ]);
    expect(await expectSame(bytes, "png")).toMatchObject({ orientation: 8, channels: 4 });
  });
});

describe("malformed PNG that sharp reads anyway: the same answer", () => {
  const trns = (data: Buffer, badCrc = false) => chunk("tRNS", data, badCrc);

  it("drops a tRNS with a bad CRC (no alpha) but keeps a text chunk's bad CRC harmless", async () => {
    expect(await expectSame(pngFile(4, 3, 8, 2, [trns(Buffer.alloc(6), true)]), "png")).toMatchObject({
      hasAlpha: false,
    });
    const text = chunk("tEXt", Buffer.from("Title\0x"), true);
    expect(await expectSame(pngFile(4, 3, 8, 2, [text, trns(Buffer.alloc(6))]), "png")).toMatchObject({
      hasAlpha: true,
    });
  });

  it("drops tRNS of the wrong length, before PLTE, or on a type that has alpha already", async () => {
    for (const bytes of [
      pngFile(4, 3, 8, 0, [trns(Buffer.alloc(1))]),
      pngFile(4, 3, 8, 0, [trns(Buffer.alloc(4))]),
      pngFile(4, 3, 8, 2, [trns(Buffer.alloc(2))]),
      pngFile(4, 3, 8, 3, [PLTE, trns(Buffer.alloc(4))]),
      pngFile(4, 3, 8, 3, [PLTE, trns(Buffer.alloc(0))]),
      pngFile(4, 3, 8, 4, [trns(Buffer.alloc(2))]),
      pngFile(4, 3, 16, 6, [trns(Buffer.alloc(6))]),
    ])
      await expectSame(bytes, "png");
  });

  it("takes a second tRNS after an invalid one, but not after one dropped for its CRC", async () => {
    const second = trns(Buffer.alloc(6));
    expect(await expectSame(pngFile(4, 3, 8, 2, [trns(Buffer.alloc(2)), second]), "png")).toMatchObject({
      hasAlpha: true,
    });
    expect(await expectSame(pngFile(4, 3, 8, 2, [trns(Buffer.alloc(6), true), second]), "png")).toMatchObject({
      hasAlpha: false,
    });
    expect(await expectSame(pngFile(4, 3, 1, 0, [trns(Buffer.from([0, 5]))]), "png")).toMatchObject({ hasAlpha: true });
  });

  it("reads only the first eXIf, even when that one is dropped (not TIFF, too short, bad CRC)", async () => {
    const good = chunk("eXIf", orientationTiff(6));
    for (const first of [
      chunk("eXIf", Buffer.from("XXXXXXXX")),
      chunk("eXIf", Buffer.from("II*")),
      chunk("eXIf", Buffer.concat([Buffer.from("Exif\0\0"), orientationTiff(3)])),
      chunk("eXIf", orientationTiff(3), true),
    ])
      expect((await expectSame(pngFile(4, 3, 8, 2, [first, good]), "png")).orientation).toBe(1);
    const twice = pngFile(4, 3, 8, 2, [good, chunk("eXIf", orientationTiff(3))]);
    expect((await expectSame(twice, "png")).orientation).toBe(6);
  });

  it("gives orientation 1 for EXIF libexif cannot read", async () => {
    for (const data of [
      Buffer.from("II*\0garbage, not an IFD"),
      Buffer.concat([Buffer.from("II*\0"), Buffer.from([0xe8, 3, 0, 0])]),
      tiff([
        [0x010f, 2, 1, 0],
        [0x0112, 3, 1, 6],
      ]).subarray(0, 8 + 2 + 12 + 6),
    ])
      expect((await expectSame(pngFile(4, 3, 8, 2, [chunk("eXIf", data)]), "png")).orientation).toBe(1);
  });

  it("ignores invalid ancillary chunks (bad gAMA, sRGB, pHYs, text keyword, iCCP, sPLT)", async () => {
    const bytes = pngFile(4, 3, 8, 2, [
      chunk("gAMA", Buffer.alloc(3)),
      chunk("sRGB", Buffer.from([7])),
      chunk("pHYs", Buffer.alloc(9, 5)),
      chunk("tEXt", Buffer.from("\0no keyword")),
      chunk("tEXt", Buffer.alloc(0)),
      chunk("iCCP", Buffer.from("icc\0\0not deflate")),
      chunk("sPLT", Buffer.alloc(0)),
      chunk("tRNS", Buffer.alloc(6)),
    ]);
    expect(await expectSame(bytes, "png")).toMatchObject({ hasAlpha: true });
  });

  it("accepts PLTE on grey and RGB images (a suggested palette)", async () => {
    await expectSame(pngFile(4, 3, 8, 0, [PLTE]), "png");
    await expectSame(pngFile(4, 3, 8, 2, [PLTE, chunk("tRNS", Buffer.alloc(6))]), "png");
  });
});

describe("PNG left to sharp: its refusal, word for word, or its answer", () => {
  const body = [ihdr(4, 3, 8, 2), idat(4, 3, 8, 2), chunk("IEND")];
  const refused: [string, Buffer][] = [
    [
      "an IHDR with a bad CRC",
      Buffer.concat([PNG_SIGNATURE, chunk("IHDR", ihdr(4, 3, 8, 2).subarray(8, 21), true), ...body.slice(1)]),
    ],
    ["a PLTE with a bad CRC", pngFile(4, 3, 8, 3, [chunk("PLTE", Buffer.alloc(6), true)])],
    ["a chunk before IHDR", Buffer.concat([PNG_SIGNATURE, chunk("tEXt", Buffer.from("a\0b")), ...body])],
    ["an IHDR of 14 bytes", Buffer.concat([PNG_SIGNATURE, chunk("IHDR", Buffer.alloc(14)), ...body.slice(1)])],
    ["a file cut inside IHDR", Buffer.concat([PNG_SIGNATURE, ...body]).subarray(0, 20)],
    [
      "a file cut inside a chunk",
      pngFile(4, 3, 8, 2, [chunk("tEXt", Buffer.from("Title\0long text"))]).subarray(0, 45),
    ],
    ["a file cut before IDAT", Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 8, 2)])],
    ["no IDAT", Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 8, 2), chunk("IEND")])],
    [
      "a chunk length over 2^31",
      Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 8, 2), Buffer.from([0x80, 0, 0, 0]), ...body.slice(1)]),
    ],
    ["an unknown critical chunk", pngFile(4, 3, 8, 2, [chunk("ABCD", Buffer.alloc(3))])],
    ["a palette image without PLTE", pngFile(4, 3, 8, 3)],
    ["PLTE after tRNS", pngFile(4, 3, 8, 2, [chunk("tRNS", Buffer.alloc(6)), PLTE])],
    ["PLTE after bKGD", pngFile(4, 3, 8, 2, [chunk("bKGD", Buffer.alloc(6)), PLTE])],
    ["PLTE of 4 bytes", pngFile(4, 3, 8, 3, [chunk("PLTE", Buffer.alloc(4))])],
    ["PLTE too long for 1 bit", pngFile(4, 3, 1, 3, [PLTE])],
    ["an empty PLTE", pngFile(4, 3, 8, 3, [chunk("PLTE")])],
    ["bit depth 3", Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 3, 0), ...body.slice(1)])],
    ["colour type 1", Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 8, 1), ...body.slice(1)])],
    ["RGB at 4 bits", Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 4, 2), ...body.slice(1)])],
    ["interlace method 2", Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 8, 2, 2), ...body.slice(1)])],
    ["a width of 0", pngFile(0, 3, 8, 2)],
    [
      "a height over libvips' 100,000,000",
      Buffer.concat([PNG_SIGNATURE, ihdr(1, 100_000_001, 8, 0), ...body.slice(1)]),
    ],
    [
      "1001 text chunks (spng's limit)",
      pngFile(
        4,
        3,
        8,
        2,
        Array.from({ length: 1001 }, () => chunk("tEXt", Buffer.from("k\0v"))),
      ),
    ],
    ["a wrong signature", Buffer.concat([PNG_SIGNATURE.subarray(0, 7), Buffer.from([0x0b]), ...body])],
  ];
  for (const [name, bytes] of refused) {
    it(`refuses ${name} as sharp does`, async () => {
      expect(await expectLeftToSharp(bytes, "png")).toMatch(/^VLM_E_IMAGE_DECODE: x: cannot read the png header: /);
    });
  }

  it("leaves rarities sharp reads to sharp: a second PLTE, PLTE after a dropped tRNS, an empty eXIf, 10,001 chunks, a LONG orientation", async () => {
    for (const bytes of [
      pngFile(4, 3, 8, 3, [PLTE, PLTE]),
      pngFile(4, 3, 8, 3, [chunk("tRNS", Buffer.from([0])), PLTE]),
      pngFile(4, 3, 8, 2, [chunk("eXIf")]),
      pngFile(
        4,
        3,
        8,
        2,
        Array.from({ length: 10_001 }, () => chunk("vpAg", Buffer.alloc(1))),
      ),
      pngFile(4, 3, 8, 2, [chunk("eXIf", tiff([[0x0112, 4, 1, 6]]))]),
    ])
      expect(typeof (await expectLeftToSharp(bytes, "png"))).toBe("object");
  });

  it("a width of 100,000,000 is still read (libvips' limit is inclusive)", async () => {
    const bytes = Buffer.concat([PNG_SIGNATURE, ihdr(100_000_000, 1, 8, 0), idat(1, 1, 8, 0), chunk("IEND")]);
    expect(await expectSame(bytes, "png")).toMatchObject({ width: 100_000_000 });
  });
});

describe("bounds", () => {
  it("never reads past the buffer: every prefix of a PNG gives null or sharp's answer", async () => {
    const bytes = pngFile(4, 3, 8, 2, [chunk("tRNS", Buffer.alloc(6)), chunk("eXIf", orientationTiff(6))]);
    const whole = await sharpInfo(bytes, "png", "x");
    for (let n = 0; n <= bytes.length; n++) {
      const r = readPngHeader(bytes.subarray(0, n));
      if (r !== null) expect(r).toEqual(whole);
    }
  });

  it("does not trust hostile lengths: 2^31-1 and 2^32-1 chunk lengths in a small file", () => {
    for (const length of [0x7fffffff, 0xffffffff]) {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(length, 0);
      head.write("tEXt", 4, "latin1");
      expect(readPngHeader(Buffer.concat([PNG_SIGNATURE, ihdr(4, 3, 8, 2), head, Buffer.alloc(64)]))).toBeNull();
    }
  });
});

describe("mutated PNG (seeded): the reader never throws, and when it answers, sharp agrees", () => {
  it("holds for 1500 mutants of a few files", async () => {
    const seeds = [
      pngFile(4, 3, 8, 2),
      pngFile(4, 3, 1, 0, [chunk("tRNS", Buffer.from([0, 1]))]),
      pngFile(4, 3, 16, 6, [chunk("eXIf", orientationTiff(6, true))]),
      pngFile(4, 3, 4, 3, [PLTE, chunk("bKGD", Buffer.from([1])), chunk("tRNS", Buffer.from([0, 128]))]),
      pngFile(4, 3, 8, 2, [
        chunk("tRNS", Buffer.alloc(6)),
        chunk("tEXt", Buffer.from("Software\0x")),
        chunk("eXIf", orientationTiff(3)),
      ]),
    ];
    expect(await mutantsAgreeWithSharp(seeds, 1500, "png")).toBeGreaterThan(100);
  });
});
