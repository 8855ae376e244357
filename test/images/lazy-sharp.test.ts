import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { prepareImage } from "../../src/images/prepare-image.js";
import { probeImage } from "../../src/images/probe-image.js";
import { sharpLoaded } from "../../src/images/sharp-lib.js";
import { tracedGenerateRuns } from "../helpers/imports-of-run.js";
import { opts } from "./helpers.js";

// PNG and JPEG headers are read without sharp (png-header.ts, jpeg-header.ts), and a PNG's
// decode check inflates it with node's zlib (png-verify.ts): none of these may load sharp.
// This file imports the sharp package itself only to make test images; sharpLoaded() says
// whether vlmpipe's own loader (loadSharp) ran, in this test file's fresh module graph.

describe("sharp stays unloaded", () => {
  it("for PNG and JPEG probes and kept images with verify: header; a GIF loads it", async () => {
    const base = () => sharp({ create: { width: 8, height: 6, channels: 3, background: "#c83" } });
    const png = await base().png().toBuffer();
    const jpeg = await base().withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const gif = await base().gif().toBuffer();

    expect(sharpLoaded()).toBe(false);
    expect(await probeImage(png, "a.png", 1e9)).toMatchObject({ format: "png", width: 8 });
    expect(await probeImage(jpeg, "a.jpg", 1e9)).toMatchObject({ format: "jpeg", orientation: 6 });
    expect(await prepareImage(png, "a.png", opts({ verify: "header" }))).toMatchObject({ changed: false });
    expect(await prepareImage(jpeg, "a.jpg", opts({ verify: "header" }))).toMatchObject({ changed: false });
    // A PNG's decode check is node's zlib (png-verify.ts).
    expect(await prepareImage(png, "a.png", opts({ verify: "decode" }))).toMatchObject({ changed: false });
    expect(sharpLoaded()).toBe(false);

    await probeImage(gif, "a.gif", 1e9);
    expect(sharpLoaded()).toBe(true);
  });
});

// The same end to end: the built CLI under the import tracer (helpers/imports-of-run.ts).
describe("a generate run over PNG rows", () => {
  const packagesImported = tracedGenerateRuns();

  it("does not import sharp to check and send PNGs (verify: decode or header), and does to re-encode them", async () => {
    expect((await packagesImported("decode")).has("sharp")).toBe(false);
    expect((await packagesImported("header", { args: ["++image.verify=header"] })).has("sharp")).toBe(false);
    expect((await packagesImported("jpeg", { args: ["++image.encode=jpeg"] })).has("sharp")).toBe(true); // the trace sees sharp
  });
});
