import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { GenerationConfigSchema } from "../../src/config/generation-config.js";
import { ImageOptionsSchema } from "../../src/images/options.js";
import { repoRoot } from "../helpers/bin.js";

/**
 * docs/configuration.md lists every `++key=value` setting and docs/images.md every image option;
 * the zod schemas are the truth. Each key of the schemas is named on its page, each key a table
 * names is one of the schema's, and a default written as a plain number or boolean is the
 * schema's default.
 */

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur;
}

/** Settings as dotted keys: one per key of a nested object, `image` left to images.md. */
function settingKeys(): string[] {
  const keys: string[] = [];
  for (const [k, t] of Object.entries(GenerationConfigSchema.shape)) {
    if (k === "image") continue;
    const inner = unwrap(t as z.ZodType);
    if (inner instanceof z.ZodObject) for (const sub of Object.keys(inner.shape)) keys.push(`${k}.${sub}`);
    else keys.push(k);
  }
  return keys;
}

/** Rows of the first table after `heading`: the backticked keys of the first cell, and the default cell. */
function tableRows(page: string, heading: string): { keys: string[]; dflt: string }[] {
  const start = page.indexOf(heading);
  const rest = page.slice(start + heading.length);
  const table = rest.slice(rest.indexOf("\n|"), rest.search(/\n\n(?!\|)/));
  return table
    .split("\n")
    .filter((l) => /^\| `/.test(l))
    .map((l) => {
      const cells = l.split(" | ");
      return { keys: [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), dflt: cells[1]!.trim() };
    });
}

function defaultOf(defaults: Record<string, unknown>, key: string): unknown {
  return key.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], defaults);
}

let configPage: string;
let imagesPage: string;

beforeAll(async () => {
  configPage = await readFile(path.join(repoRoot, "docs", "configuration.md"), "utf8");
  imagesPage = await readFile(path.join(repoRoot, "docs", "images.md"), "utf8");
});

describe("docs/configuration.md and docs/images.md against the schemas", () => {
  it("names every ++ setting in configuration.md's Keys table", () => {
    const named = tableRows(configPage, "## Keys").flatMap((r) => r.keys);
    expect(named.length).toBeGreaterThan(20);
    // `inference.extra_body.*` names inference.extra_body; `image.*` points to images.md.
    const missing = settingKeys().filter((k) => !named.some((n) => n === k || n === `${k}.*`));
    expect(missing).toEqual([]);
  });

  it("names only keys the schema has", () => {
    const known = new Set([...settingKeys(), "image"]);
    const stale = tableRows(configPage, "## Keys")
      .flatMap((r) => r.keys)
      .map((k) => k.replace(/\.\*$/, ""))
      .filter((k) => !known.has(k));
    expect(stale).toEqual([]);
  });

  it("gives the schema's default wherever it writes a number or a boolean", () => {
    const defaults = GenerationConfigSchema.parse({}) as Record<string, unknown>;
    const wrong: string[] = [];
    for (const { keys, dflt } of tableRows(configPage, "## Keys")) {
      if (keys.length !== 1 || !/^(-?\d+(\.\d+)?|true|false)$/.test(dflt)) continue;
      const actual = defaultOf(defaults, keys[0]!);
      if (actual !== JSON.parse(dflt)) wrong.push(`${keys[0]}: page ${dflt}, schema ${String(actual)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("lists every image option in images.md, and only those, with the schema's numeric and boolean defaults", () => {
    // The options table: | `name` | type | default | why |
    const rows = imagesPage
      .split("\n")
      .filter((l) => /^\| `\w+` \|/.test(l))
      .map((l) =>
        l
          .slice(2)
          .split(" | ")
          .map((c) => c.trim().replaceAll("`", "")),
      );
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(ImageOptionsSchema.shape).sort());
    const defaults = ImageOptionsSchema.parse({}) as Record<string, unknown>;
    const wrong: string[] = [];
    for (const [key, , dflt] of rows) {
      if (!/^(-?\d+|true|false)$/.test(dflt!)) continue;
      if (defaults[key!] !== JSON.parse(dflt!)) wrong.push(`${key}: page ${dflt}, schema ${String(defaults[key!])}`);
    }
    expect(wrong).toEqual([]);
  });
});
