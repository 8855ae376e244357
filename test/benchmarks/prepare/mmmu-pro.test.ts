import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type PreparedConfig, prepareMmmuPro } from "../../../src/benchmarks/mmmu-pro/prepare.js";
import { type FakeHub, startFakeHub } from "../../helpers/fake-hub.js";

const HUB_ROOT = "fixtures/hub";
const REPO_DIR = join(HUB_ROOT, "datasets", "MMMU", "MMMU_Pro");
const TOKEN = "hf_prepareTestToken42";
const FAST = { retries: 3, minDelayMs: 1, maxDelayMs: 5 };
const SUBJECTS = ["Art_Theory", "Biology", "Economics", "History", "Math", "Physics"];

type Row = Record<string, unknown>;

let hub: FakeHub;
let dataDir: string;
let results: PreparedConfig[];
const lines: string[] = [];

async function readJsonl(path: string): Promise<Row[]> {
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

/** The dataset rows, read straight from the fixture shards, by id. */
async function sourceRows(folder: string): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  for (const name of (await readdir(join(REPO_DIR, folder))).sort()) {
    const rows = await parquetReadObjects({
      file: await asyncBufferFromFile(join(REPO_DIR, folder, name)),
      utf8: false,
    });
    for (const r of rows) out.set(r.id as string, r);
  }
  return out;
}

const env = () => ({ HF_ENDPOINT: hub.url, HF_TOKEN: TOKEN });

beforeAll(async () => {
  hub = await startFakeHub({ root: HUB_ROOT, token: TOKEN });
  dataDir = await mkdtemp(join(tmpdir(), "vlmpipe-mmmu-"));
  results = await prepareMmmuPro({ dataDir, config: "all", env: env(), log: (l) => lines.push(l), retry: FAST });
});

afterAll(async () => {
  await hub.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("prepareMmmuPro against the fake hub", () => {
  test("writes one folder per config with 60 rows, from the shards it found by listing", async () => {
    expect(results.map((r) => [r.config, r.rows, r.skippedRows, r.shards.length])).toEqual([
      ["vision", 60, 0, 2],
      ["standard-10", 60, 0, 2],
      ["standard-4", 60, 0, 2],
    ]);
    for (const [config, dir] of [
      ["vision", "mmmu-pro"],
      ["standard-10", "mmmu-pro-standard-10"],
      ["standard-4", "mmmu-pro-standard-4"],
    ]) {
      const r = results.find((x) => x.config === config)!;
      expect(r.jsonl).toBe(join(dataDir, dir!, "test.jsonl"));
      expect(await readJsonl(r.jsonl)).toHaveLength(60);
    }
    const trees = hub.requests.filter((r) => r.path.includes("/tree/")).map((r) => r.path);
    expect(trees).toEqual([
      "/api/datasets/MMMU/MMMU_Pro/tree/main/vision",
      "/api/datasets/MMMU/MMMU_Pro/tree/main/standard (10 options)",
      "/api/datasets/MMMU/MMMU_Pro/tree/main/standard (4 options)",
    ]);
  });

  test("vision rows have NeMo-Skills' fields, an options-only problem and the image's own bytes", async () => {
    const rows = await readJsonl(join(dataDir, "mmmu-pro", "test.jsonl"));
    const source = await sourceRows("vision");
    expect(rows.map((r) => r.id)).toEqual([...source.keys()]);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual([
        "problem",
        "image_path",
        "expected_answer",
        "subset_for_metrics",
        "id",
        "options",
        "subject",
      ]);
      const src = source.get(row.id as string)!;
      const options = row.options as string[];
      expect(Array.isArray(options)).toBe(true);
      expect(row.problem).toBe(`\n\n${options.map((o, i) => `${String.fromCharCode(65 + i)}) ${o}`).join("\n")}`);
      expect(row.expected_answer).toBe(src.answer);
      expect(row.subject).toBe(src.subject);
      expect(row.subset_for_metrics).toBe((src.subject as string).replaceAll(" ", "_"));
      expect(SUBJECTS).toContain(row.subset_for_metrics);
      expect(row.image_path).toMatch(new RegExp(`^images/${row.id}\\.(png|jpg)$`));
      const bytes = await readFile(join(dataDir, "mmmu-pro", row.image_path as string));
      expect(Buffer.compare(bytes, (src.image as { bytes: Uint8Array }).bytes)).toBe(0);
    }
    // The extension comes from the bytes: the fixture has JPEG screenshots too.
    const exts = new Set(rows.map((r) => (r.image_path as string).split(".").pop()));
    expect(exts).toEqual(new Set(["png", "jpg"]));
  });

  test("parses Python-style option lists, apostrophes, LaTeX backslashes and all", async () => {
    const rows = await readJsonl(join(dataDir, "mmmu-pro-standard-10", "test.jsonl"));
    const math = rows.find((r) => r.id === "test_Math_1")!;
    expect(math.options).toContain("$\\sqrt{25}$");
    const physics = rows.find((r) => r.id === "test_Physics_1")!;
    expect(physics.problem).toContain("It's released from rest.");
    expect((physics.options as string[]).every((o) => o.endsWith(" m/s²"))).toBe(true);
    expect(rows.find((r) => r.id === "test_Math_7")!.options).toHaveLength(7);
  });

  test("standard rows keep <image N> markers in place and list only the images present", async () => {
    for (const [config, dir, nOptions] of [
      ["standard (10 options)", "mmmu-pro-standard-10", 10],
      ["standard (4 options)", "mmmu-pro-standard-4", 4],
    ] as const) {
      const rows = await readJsonl(join(dataDir, dir, "test.jsonl"));
      const source = await sourceRows(config);
      let images = 0;
      for (const row of rows) {
        const src = source.get(row.id as string)!;
        const options = row.options as string[];
        // The 7th question of each subject has 7 options, as some MMMU-Pro rows have fewer than 10.
        expect(options).toHaveLength(nOptions === 10 && /_7$/.test(row.id as string) ? 7 : nOptions);
        const lettered = options.map((o, i) => `${String.fromCharCode(65 + i)}) ${o}`).join("\n");
        expect(row.problem).toBe(`${src.question}\n\n${lettered}`);
        expect(row.expected_answer).toBe(src.answer);
        expect(row.topic_difficulty).toBe(src.topic_difficulty);
        expect(row.explanation).toBe(src.explanation);
        expect(Array.isArray(row.img_type)).toBe(true);
        for (let k = 1; k <= 7; k++) {
          const cell = src[`image_${k}`] as { bytes: Uint8Array } | null;
          if (!cell) {
            expect(row).not.toHaveProperty(`image_${k}`);
            continue;
          }
          images++;
          expect(row[`image_${k}`]).toMatch(new RegExp(`^images/${row.id}_${k}\\.(png|jpg|gif)$`));
          const bytes = await readFile(join(dataDir, dir, row[`image_${k}`] as string));
          expect(Buffer.compare(bytes, cell.bytes)).toBe(0);
          // Every image is referred to by a marker, in the question or in an option.
          expect(row.problem as string).toContain(`<image ${k}>`);
        }
        const markers = (row.problem as string).match(/<image \d>/g) ?? [];
        expect(markers.length).toBeGreaterThan(0);
      }
      expect(images).toBe(results.find((r) => r.config === (nOptions === 10 ? "standard-10" : "standard-4"))!.images);
      expect(images).toBeGreaterThan(rows.length);
    }
  });

  test("keeps a marker that sits in an option", async () => {
    const rows = await readJsonl(join(dataDir, "mmmu-pro-standard-10", "test.jsonl"));
    const row = rows.find((r) => r.id === "test_Art_Theory_4")!;
    expect(row.options).toEqual(expect.arrayContaining(["<image 2>", "<image 3>"]));
    expect(row.problem).toMatch(/\n[A-J]\) <image 2>\n/);
    expect(Object.keys(row).filter((k) => k.startsWith("image_"))).toEqual(["image_1", "image_2", "image_3"]);
    expect(row.expected_answer).toBe(String.fromCharCode(65 + (row.options as string[]).indexOf("<image 3>")));
  });

  test("sends the token to the hub only and never prints it", () => {
    for (const r of hub.requests.filter((x) => x.server === "hub")) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of hub.requests.filter((x) => x.server === "cdn")) expect(r.authorization).toBeUndefined();
    expect(lines.join("\n")).not.toContain(TOKEN);
    expect(lines.filter((l) => l.startsWith("[mmmu-pro]"))).toEqual([
      `[mmmu-pro] vision: 60 rows, 60 images -> ${join(dataDir, "mmmu-pro", "test.jsonl")}`,
      `[mmmu-pro] standard-10: 60 rows, 87 images -> ${join(dataDir, "mmmu-pro-standard-10", "test.jsonl")}`,
      `[mmmu-pro] standard-4: 60 rows, 87 images -> ${join(dataDir, "mmmu-pro-standard-4", "test.jsonl")}`,
    ]);
  });

  test("a second run downloads nothing and writes the same files", async () => {
    const before = await readFile(join(dataDir, "mmmu-pro", "test.jsonl"), "utf8");
    const cdnBefore = hub.requests.filter((r) => r.server === "cdn").length;
    const again: string[] = [];
    await prepareMmmuPro({ dataDir, env: env(), log: (l) => again.push(l), retry: FAST });
    expect(hub.requests.filter((r) => r.server === "cdn").length).toBe(cdnBefore);
    expect(again.filter((l) => /already complete/.test(l))).toHaveLength(2);
    expect(await readFile(join(dataDir, "mmmu-pro", "test.jsonl"), "utf8")).toBe(before);
    // No temporary files are left beside the outputs.
    expect((await readdir(join(dataDir, "mmmu-pro"))).sort()).toEqual(["images", "test.jsonl"]);
  });

  test("matches the shipped fixtures/data folders (regenerate with fixtures/scripts/regenerate.mjs)", async () => {
    for (const dir of ["mmmu-pro", "mmmu-pro-standard-10"]) {
      const shipped = join("fixtures", "data", dir);
      expect(await readFile(join(shipped, "test.jsonl"), "utf8")).toBe(
        await readFile(join(dataDir, dir, "test.jsonl"), "utf8"),
      );
      const names = (await readdir(join(shipped, "images"))).sort();
      expect(names).toEqual((await readdir(join(dataDir, dir, "images"))).sort());
      for (const n of names) {
        const same = Buffer.compare(
          await readFile(join(shipped, "images", n)),
          await readFile(join(dataDir, dir, "images", n)),
        );
        expect(same, n).toBe(0);
      }
    }
  });
});

describe("prepareMmmuPro failures", () => {
  test("rejects an unknown config with a message listing the known ones", async () => {
    const err = await prepareMmmuPro({ dataDir: "/nonexistent", config: "standard-7" as "vision", env: env() }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: "VLM_E_USAGE" });
    expect(err.message).toMatch(/vision.*standard-10.*standard-4.*all/);
    expect(hub.requests.some((r) => r.path.includes("standard-7"))).toBe(false);
  });

  test("rejects misspelled options", async () => {
    const err = await prepareMmmuPro({ dataDir: "/x", revison: "v1" } as never).catch((e) => e);
    expect(err).toMatchObject({ code: "VLM_E_USAGE" });
    expect(err.message).toMatch(/revison/);
  });

  test("never leaves a test.jsonl behind when a shard turns out to be broken", async () => {
    const root = await mkdtemp(join(tmpdir(), "vlmpipe-badhub-"));
    const out = await mkdtemp(join(tmpdir(), "vlmpipe-badout-"));
    try {
      await cp(HUB_ROOT, root, { recursive: true });
      await writeFile(
        join(root, "datasets/MMMU/MMMU_Pro/vision/test-00001-of-00002.parquet"),
        "not a parquet file at all",
      );
      const broken = await startFakeHub({ root });
      try {
        const err = await prepareMmmuPro({
          dataDir: out,
          env: { HF_ENDPOINT: broken.url },
          log: () => {},
          retry: FAST,
        }).catch((e) => e);
        expect(err).toMatchObject({ code: "VLM_E_DATA" });
        expect(err.message).toMatch(/test-00001-of-00002\.parquet: not a readable parquet file/);
        await expect(stat(join(out, "mmmu-pro", "test.jsonl"))).rejects.toThrow();
        expect((await readdir(join(out, "mmmu-pro"))).filter((n) => n.includes(".tmp"))).toEqual([]);
      } finally {
        await broken.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(out, { recursive: true, force: true });
    }
  });

  test("says which shards are missing when the listing is incomplete", async () => {
    const root = await mkdtemp(join(tmpdir(), "vlmpipe-halfhub-"));
    try {
      await cp(HUB_ROOT, root, { recursive: true });
      await rm(join(root, "datasets/MMMU/MMMU_Pro/vision/test-00001-of-00002.parquet"));
      const half = await startFakeHub({ root });
      try {
        const err = await prepareMmmuPro({
          dataDir: join(root, "out"),
          env: { HF_ENDPOINT: half.url },
          log: () => {},
        }).catch((e) => e);
        expect(err).toMatchObject({ code: "VLM_E_DATA" });
        expect(err.message).toMatch(/lists 1 of 2 test shards/);
      } finally {
        await half.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
