import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { readJpegHeader } from "../../src/images/jpeg-header.js";
import { sharpInfo } from "../../src/images/probe-image.js";
import {
  editJpeg,
  expectLeftToSharp,
  expectSame,
  mutantsAgreeWithSharp,
  orientationTiff,
  type Segments,
  sharpJpeg,
  sofIndex,
  tiff,
} from "./header-bytes.js";

// readJpegHeader must give what sharpInfo (sharp's metadata()) gives for the same bytes, or
// leave the file to sharp (null). Every case compares with the real sharp.

let rgb: Buffer;
let grey: Buffer;
let cmyk: Buffer;
beforeAll(async () => {
  rgb = await sharpJpeg();
  grey = await sharpJpeg({}, "b-w");
  cmyk = await sharpJpeg({}, "cmyk");
});

const exifApp1 = (t: Buffer, prefix = "Exif\0\0"): [number, Buffer] => [
  0xe1,
  Buffer.concat([Buffer.from(prefix, "latin1"), t]),
];
/** `jpeg` with `extra` segments inserted right after SOI. */
const withSegments = (jpeg: Buffer, ...extra: [number, Buffer][]) =>
  editJpeg(jpeg, (s) => {
    s.segments.unshift(...extra);
  });
const frame = (jpeg: Buffer, edit: (sof: [number, Buffer], s: Segments) => void) =>
  editJpeg(jpeg, (s) => edit(s.segments[sofIndex(s)]!, s));

describe("JPEG written by sharp", () => {
  it("reads RGB, grey and CMYK (sharp writes an Adobe APP14 marker for CMYK)", async () => {
    expect(await expectSame(rgb, "jpeg")).toMatchObject({ space: "srgb", channels: 3, grey: false });
    expect(await expectSame(grey, "jpeg")).toMatchObject({ space: "b-w", channels: 1, grey: true });
    expect(await expectSame(cmyk, "jpeg")).toMatchObject({ space: "cmyk", channels: 4, hasAlpha: false });
    expect(cmyk.includes("Adobe")).toBe(true);
  });

  it("reads progressive, mozjpeg-optimised, 4:4:4 and ICC-tagged JPEG", async () => {
    for (const bytes of [
      await sharpJpeg({ progressive: true }),
      await sharpJpeg({ mozjpeg: true }),
      await sharpJpeg({ chromaSubsampling: "4:4:4", quality: 100 }),
      await sharp(rgb).withMetadata().jpeg().toBuffer(),
      await sharp({ create: { width: 3000, height: 2000, channels: 3, background: "#123" } })
        .jpeg()
        .toBuffer(),
    ])
      await expectSame(bytes, "jpeg");
  });

  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`reads EXIF orientation ${orientation} from the APP1 segment sharp writes`, async () => {
      const bytes = await sharp(rgb).withMetadata({ orientation }).jpeg().toBuffer();
      expect((await expectSame(bytes, "jpeg")).orientation).toBe(orientation);
    });
  }
});

describe("JPEG edited by hand", () => {
  it("reads CMYK as cmyk whatever the Adobe transform (YCCK, none, odd) and without the marker", async () => {
    const adobe = (transform: number) =>
      editJpeg(cmyk, (s) => {
        s.segments.find(([m]) => m === 0xee)![1][11] = transform;
      });
    for (const bytes of [
      adobe(2),
      adobe(1),
      editJpeg(cmyk, (s) => void (s.segments = s.segments.filter(([m]) => m !== 0xee))),
    ])
      expect(await expectSame(bytes, "jpeg")).toMatchObject({ space: "cmyk", channels: 4 });
  });

  it("reads RGB and grey with JFIF and Adobe markers of any version or transform", async () => {
    const jfif = (major: number) => Buffer.from([0x4a, 0x46, 0x49, 0x46, 0, major, 1, 0, 0, 1, 0, 1, 0, 0]);
    const adobe = (t: number) => Buffer.from([0x41, 0x64, 0x6f, 0x62, 0x65, 0, 0x64, 0, 0, 0, 0, t]);
    for (const bytes of [
      withSegments(rgb, [0xe0, jfif(1)]),
      withSegments(rgb, [0xe0, jfif(2)]),
      withSegments(rgb, [0xee, adobe(0)]),
      withSegments(rgb, [0xee, adobe(5)]),
      withSegments(grey, [0xee, adobe(1)]),
      withSegments(rgb, [0xfe, Buffer.from("a comment")], [0xe2, Buffer.from("ICC_PROFILE\0")]),
    ])
      await expectSame(bytes, "jpeg");
  });

  it("reads SOF1 (extended sequential) like baseline, and DRI, several tables per DHT/DQT segment", async () => {
    const dqt = (id: number, sixteen: boolean) =>
      Buffer.concat([Buffer.from([(sixteen ? 0x10 : 0) | id]), Buffer.alloc(sixteen ? 128 : 64, 1)]);
    const dht = (id: number) => Buffer.from([id, 0, 1, ...Array(14).fill(0), 0]);
    for (const bytes of [
      frame(rgb, (sof) => void (sof[0] = 0xc1)),
      withSegments(rgb, [0xdd, Buffer.from([0, 4])]),
      withSegments(rgb, [0xdb, Buffer.concat([dqt(2, false), dqt(3, true)])], [0xdb, Buffer.alloc(0)]),
      withSegments(rgb, [0xc4, Buffer.concat([dht(0x02), dht(0x13)])], [0xc4, Buffer.alloc(0)]),
    ])
      await expectSame(bytes, "jpeg");
  });

  it("reads a scan of one component of three, and a file cut right after the SOS segment", async () => {
    await expectSame(
      editJpeg(rgb, (s) => void (s.scan = Buffer.from([1, 1, 0, 0, 63, 0]))),
      "jpeg",
    );
    const cut = editJpeg(rgb, (s) => void (s.rest = Buffer.alloc(0)));
    await expectSame(cut, "jpeg");
  });

  it("reads the largest size libjpeg takes, 65500", async () => {
    const big = frame(rgb, ([, p]) => {
      p.writeUInt16BE(65500, 1);
      p.writeUInt16BE(65500, 3);
    });
    expect(await expectSame(big, "jpeg")).toMatchObject({ width: 65500, height: 65500 });
  });
});

describe("JPEG EXIF, as sharp reads it", () => {
  it("reads big-endian EXIF, and 1 for values outside 1..8", async () => {
    expect((await expectSame(withSegments(rgb, exifApp1(orientationTiff(6, true))), "jpeg")).orientation).toBe(6);
    for (const v of [0, 9, 300])
      expect((await expectSame(withSegments(rgb, exifApp1(orientationTiff(v))), "jpeg")).orientation).toBe(1);
  });

  it("reads an APP1 placed after the frame, or after an XMP APP1", async () => {
    const after = editJpeg(rgb, (s) => void s.segments.splice(sofIndex(s) + 1, 0, exifApp1(orientationTiff(5))));
    expect((await expectSame(after, "jpeg")).orientation).toBe(5);
    const xmp: [number, Buffer] = [0xe1, Buffer.from("http://ns.adobe.com/xap/1.0/\0<x/>")];
    expect((await expectSame(withSegments(rgb, xmp, exifApp1(orientationTiff(7))), "jpeg")).orientation).toBe(7);
  });

  it("gives 1 for EXIF libexif does not read: no Exif\\0\\0, bad byte order or magic, IFD0 out of range, cut", async () => {
    const bad42 = Buffer.from(orientationTiff(6));
    bad42[2] = 43;
    const far = Buffer.from(orientationTiff(6));
    far.writeUInt32LE(1000, 4);
    const cut = tiff([
      [0x010f, 2, 1, 0],
      [0x0112, 3, 1, 6],
    ]).subarray(0, 8 + 2 + 12 + 6);
    for (const app1 of [
      exifApp1(orientationTiff(6), "Exif"),
      exifApp1(orientationTiff(6), "Exif\0"),
      exifApp1(orientationTiff(6), "Exif\0\xff"),
      exifApp1(Buffer.concat([Buffer.from("XX"), orientationTiff(6).subarray(2)])),
      exifApp1(bad42),
      exifApp1(far),
      exifApp1(cut),
      exifApp1(Buffer.alloc(0)),
      [0xe1, Buffer.from("Exif")] as [number, Buffer],
      exifApp1(Buffer.from("garbage garbage garbage")),
    ])
      expect((await expectSame(withSegments(rgb, app1), "jpeg")).orientation).toBe(1);
  });

  it("uses IFD0 only (not IFD1), whatever comes before Orientation, and ignores Exif in other APPn", async () => {
    const ifd1Only = tiff([[0x010f, 2, 1, 0]], { ifd1: [[0x0112, 3, 1, 6]] });
    expect((await expectSame(withSegments(rgb, exifApp1(ifd1Only)), "jpeg")).orientation).toBe(1);
    const pointers = tiff([
      [0x8769, 4, 1, 8],
      [0x8825, 4, 1, 5000],
      [0x0112, 3, 1, 3],
    ]);
    expect((await expectSame(withSegments(rgb, exifApp1(pointers)), "jpeg")).orientation).toBe(3);
    const app2: [number, Buffer] = [0xe2, exifApp1(orientationTiff(6))[1]];
    expect((await expectSame(withSegments(rgb, app2), "jpeg")).orientation).toBe(1);
  });
});

describe("JPEG left to sharp: its refusal, word for word, or its answer", () => {
  const refused: [string, () => Buffer][] = [
    ["a file cut inside a segment", () => rgb.subarray(0, 30)],
    ["a file cut before SOS", () => rgb.subarray(0, rgb.indexOf(Buffer.from([0xff, 0xda])))],
    ["SOS before SOF", () => editJpeg(rgb, (s) => void s.segments.splice(sofIndex(s), 1))],
    ["EOI before any frame", () => Buffer.from([0xff, 0xd8, 0xff, 0xd9])],
    [
      "two SOF markers",
      () => editJpeg(rgb, (s) => void s.segments.unshift([0xc0, Buffer.from(s.segments[sofIndex(s)]![1])])),
    ],
    ["two SOI markers", () => Buffer.concat([Buffer.from([0xff, 0xd8]), rgb])],
    ["a height of 0", () => frame(rgb, ([, p]) => p.writeUInt16BE(0, 1))],
    ["a width of 0", () => frame(rgb, ([, p]) => p.writeUInt16BE(0, 3))],
    ["a width of 65501", () => frame(rgb, ([, p]) => p.writeUInt16BE(65501, 3))],
    [
      "no components",
      () => frame(rgb, (sof) => void (sof[1] = Buffer.concat([sof[1].subarray(0, 5), Buffer.from([0])]))),
    ],
    ["a sampling factor of 0", () => frame(rgb, ([, p]) => void (p[7] = 0x01))],
    ["a sampling factor of 5", () => frame(rgb, ([, p]) => void (p[7] = 0x51))],
    [
      "a frame of the wrong length",
      () => frame(rgb, (sof) => void (sof[1] = Buffer.concat([sof[1], Buffer.alloc(1)]))),
    ],
    ["7-bit samples", () => frame(rgb, ([, p]) => void (p[0] = 7))],
    ["SOF5 (differential)", () => frame(rgb, (sof) => void (sof[0] = 0xc5))],
    ["SOF13 (differential arithmetic)", () => frame(rgb, (sof) => void (sof[0] = 0xcd))],
    ["a JPG (0xC8) marker", () => withSegments(rgb, [0xc8, Buffer.alloc(4)])],
    ["a JPG0 (0xF0) marker", () => withSegments(rgb, [0xf0, Buffer.alloc(4)])],
    ["a reserved 0x02 marker", () => withSegments(rgb, [0x02, Buffer.alloc(4)])],
    ["a scan naming an unknown component", () => editJpeg(rgb, (s) => void (s.scan[1] = 9))],
    [
      "a scan naming a component twice",
      () => editJpeg(rgb, (s) => void (s.scan = Buffer.from([2, 1, 0, 1, 0x11, 0, 63, 0]))),
    ],
    ["a scan of 0 components", () => editJpeg(rgb, (s) => void (s.scan = Buffer.from([0, 0, 63, 0])))],
    [
      "a scan of the wrong length",
      () => editJpeg(rgb, (s) => void (s.scan = Buffer.concat([s.scan, Buffer.alloc(1)]))),
    ],
    ["a DHT table id 4", () => withSegments(rgb, [0xc4, Buffer.from([0x04, 0, 1, ...Array(14).fill(0), 0])])],
    ["a DHT table class 2", () => withSegments(rgb, [0xc4, Buffer.from([0x20, 0, 1, ...Array(14).fill(0), 0])])],
    [
      "a DHT with bytes left over",
      () => withSegments(rgb, [0xc4, Buffer.from([0x02, 0, 1, ...Array(14).fill(0), 0, 9, 9, 9])]),
    ],
    ["a DHT of more than 256 codes", () => withSegments(rgb, [0xc4, Buffer.from([0x02, ...Array(16).fill(255)])])],
    ["a DQT table id 7", () => withSegments(rgb, [0xdb, Buffer.concat([Buffer.from([0x07]), Buffer.alloc(64, 1)])])],
    ["a DQT cut short", () => withSegments(rgb, [0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(60, 1)])])],
    ["a DRI of the wrong length", () => withSegments(rgb, [0xdd, Buffer.from([0, 0, 0])])],
  ];
  for (const [name, make] of refused) {
    it(`refuses ${name} as sharp does`, async () => {
      expect(await expectLeftToSharp(make(), "jpeg")).toMatch(/^VLM_E_IMAGE_DECODE: x: cannot read the jpeg header: /);
    });
  }

  it("leaves 12- and 16-bit JPEG to sharp, whose metadata() calls them 8-bit sRGB (and which cannot decode them)", async () => {
    for (const precision of [12, 16]) {
      const bytes = frame(rgb, ([, p]) => void (p[0] = precision));
      expect(await expectLeftToSharp(bytes, "jpeg")).toMatchObject({ space: "srgb", channels: 3, highBitDepth: false });
      await expect(sharp(bytes).raw().toBuffer()).rejects.toThrow(/Unsupported/);
    }
  });

  it("leaves rarities sharp reads to sharp: lossless and arithmetic SOF, 2 or 5 components, stray bytes, RST/TEM, DNL, two Exif APP1", async () => {
    const two = (s: Segments) => {
      const i = sofIndex(s);
      const p = s.segments[i]![1];
      s.segments[i]![1] = Buffer.concat([p.subarray(0, 5), Buffer.from([2]), p.subarray(6, 12)]);
      s.scan = Buffer.from([2, 1, 0, 2, 0x11, 0, 63, 0]);
    };
    for (const bytes of [
      frame(rgb, (sof) => void (sof[0] = 0xc3)),
      frame(rgb, (sof) => void (sof[0] = 0xc9)),
      frame(rgb, (sof) => void (sof[0] = 0xca)),
      editJpeg(rgb, two),
      withRaw(rgb, Buffer.from([0x00, 0x00])),
      withRaw(rgb, Buffer.from([0xff, 0xff, 0xff])),
      withRaw(rgb, Buffer.from([0xff, 0xd0])),
      withRaw(rgb, Buffer.from([0xff, 0x01])),
      withSegments(rgb, [0xdc, Buffer.from([0, 6])]),
      withSegments(rgb, exifApp1(orientationTiff(6)), exifApp1(orientationTiff(3))),
      withSegments(rgb, exifApp1(tiff([[0x0112, 4, 1, 6]]))),
      withSegments(rgb, exifApp1(tiff([[0x0112, 3, 2, 6]]))),
      withSegments(
        rgb,
        exifApp1(
          tiff([
            [0x0112, 3, 1, 6],
            [0x0112, 3, 1, 3],
          ]),
        ),
      ),
    ])
      expect(typeof (await expectLeftToSharp(bytes, "jpeg"))).toBe("object");
  });
});

/** `jpeg` with raw bytes (not a segment) inserted after its first segment. */
function withRaw(jpeg: Buffer, raw: Buffer): Buffer {
  const at = 2 + 2 + jpeg.readUInt16BE(4);
  return Buffer.concat([jpeg.subarray(0, at), raw, jpeg.subarray(at)]);
}

describe("bounds", () => {
  it("never reads past the buffer: every prefix of a JPEG gives null or sharp's answer", async () => {
    const bytes = withSegments(rgb, exifApp1(orientationTiff(6)));
    const whole = await sharpInfo(bytes, "jpeg", "x");
    for (let n = 0; n <= bytes.length; n++) {
      const r = readJpegHeader(bytes.subarray(0, n));
      if (r !== null) expect(r).toEqual(whole);
    }
  });

  it("does not trust a segment length running past the end, or segment lengths under 2", () => {
    const head = Buffer.from([0xff, 0xd8]);
    expect(readJpegHeader(Buffer.concat([head, Buffer.from([0xff, 0xe1, 0xff, 0xff]), Buffer.alloc(100)]))).toBeNull();
    expect(readJpegHeader(Buffer.concat([head, Buffer.from([0xff, 0xfe, 0x00, 0x01]), rgb.subarray(2)]))).toBeNull();
  });

  it("stops after 10,000 segments (sharp then reads the file)", async () => {
    const comments = Array.from({ length: 10_001 }, () => [0xfe, Buffer.from("c")] as [number, Buffer]);
    expect(typeof (await expectLeftToSharp(withSegments(rgb, ...comments), "jpeg"))).toBe("object");
  });
});

describe("mutated JPEG (seeded): the reader never throws, and when it answers, sharp agrees", () => {
  it("holds for 1500 mutants of a few files", async () => {
    const seeds = [
      rgb,
      grey,
      cmyk,
      await sharpJpeg({ progressive: true }),
      await sharp(rgb).withMetadata({ orientation: 6 }).jpeg().toBuffer(),
    ];
    expect(await mutantsAgreeWithSharp(seeds, 1500, "jpeg")).toBeGreaterThan(100);
  });
});
