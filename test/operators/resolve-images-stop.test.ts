import { writeFile } from "node:fs/promises";
import path from "node:path";
import { from, lastValueFrom, tap, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { ImageOptionsSchema } from "../../src/images/options.js";
import { resolveImages } from "../../src/operators/resolve-images.js";
import type { Sample } from "../../src/types.js";
import { png, tempDir } from "../helpers/dataset.js";

describe("resolveImages after a graceful stop", () => {
  it("reads no image of a row it has not started: such rows are dropped for the resumed run", async () => {
    const dir = await tempDir();
    const rows: Sample[] = [];
    for (let i = 0; i < 10; i++) {
      await writeFile(path.join(dir, `img${i}.png`), await png(8 + i, 8));
      rows.push({
        index: i,
        row: {},
        out: {},
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `img${i}.png` } }] }],
      });
    }
    const stop = new AbortController();
    const out = await lastValueFrom(
      from(rows).pipe(
        resolveImages({ baseDir: dir, options: ImageOptionsSchema.parse({}), concurrency: 1, stop: stop.signal }),
        // The stop comes as the first row is out (Ctrl-C once).
        tap(() => stop.abort()),
        toArray(),
      ),
    );
    expect(out.map((s) => s.index)).toEqual([0]);
    const first = out[0]!.messages![0]!.content as { image_url: { url: string } }[];
    expect(first[0]!.image_url.url).toMatch(/^data:image\/png;base64,/);
  });
});
