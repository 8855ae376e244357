import { isAscii } from "node:buffer";
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commandKey, compileCacheDir } from "../../src/cli/compile-cache.js";
import { startSimServer } from "../../src/server/sim/sim-server.js";
import { binPath, repoRoot, spawnCli, waitExit } from "../helpers/bin.js";
import { png } from "../helpers/dataset.js";

let dir: string;
let cacheDir: string;
let bundle: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "vlmpipe-compile-cache-"));
  cacheDir = path.join(dir, "cache");
  bundle = path.join(dir, "bundle.cjs");
  writeBundle(41);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A CommonJS "bundle" that shows what its wrapper gave it; `n` changes it at the same length. */
function writeBundle(n: number): void {
  writeFileSync(
    bundle,
    `"use strict";
const sibling = require("./sibling.cjs");
exports.answer = () => ${n} + sibling;
exports.strict = (function () { return this === undefined; })();
exports.self = this === module.exports;
exports.where = [__filename, __dirname];
`,
  );
  writeFileSync(path.join(dir, "sibling.cjs"), "module.exports = 1;\n");
}

type Loaded = { status: string; answer: number; strict: boolean; self: boolean; where: string[] } | null;
const cacheFiles = () => readdirSync(cacheDir).sort();

/**
 * loadBundle (the built module) in a process of its own, as the CLI uses it: in one process V8
 * compiles the same source once, so a second load there would never consult the cache.
 */
function load(
  command: string,
  opts: { cacheDir?: string | null; file?: string; save?: boolean; nodeFlags?: string[] } = {},
): Loaded {
  const module = pathToFileURL(path.join(repoRoot, "dist", "cli", "compile-cache.js")).href;
  const script = `
    const { loadBundle } = await import(${JSON.stringify(module)});
    const [file, cacheDir, command, save] = process.argv.slice(1);
    const b = loadBundle(file, cacheDir || undefined, command);
    if (b && save === "save") b.saveIfMissed();
    console.log(JSON.stringify(b ? { status: b.status, answer: b.exports.answer(), strict: b.exports.strict, self: b.exports.self, where: b.exports.where } : null));
  `;
  const dirArg = opts.cacheDir === null ? "" : (opts.cacheDir ?? cacheDir);
  const args = [opts.file ?? bundle, dirArg, command, opts.save === false ? "" : "save"];
  const node = [...(opts.nodeFlags ?? []), "--input-type=module", "-e", script];
  return JSON.parse(execFileSync(process.execPath, [...node, ...args], { encoding: "utf8" }));
}

describe("loadBundle", () => {
  it("runs a CommonJS file as Node's loader would: its require, this, __filename, strict mode", () => {
    expect(load("generate", { cacheDir: null })).toEqual({
      status: "off",
      answer: 42,
      strict: true,
      self: true,
      where: [bundle, dir],
    });
  });

  it("is undefined when there is no bundle", () => {
    expect(load("generate", { file: path.join(dir, "none.cjs") })).toBeNull();
  });

  it("writes the cache after a run without one, then uses it and leaves it as it is", () => {
    expect(load("generate")!.status).toBe("none");
    const [file] = cacheFiles();
    expect(file).toMatch(/^generate\.[0-9a-f]{16}\.v8-.+\.bin$/);
    expect(statSync(path.join(cacheDir, file!)).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    const written = readFileSync(path.join(cacheDir, file!));

    expect(load("generate")).toMatchObject({ status: "used", answer: 42 });
    expect(cacheFiles()).toEqual([file]);
    expect(readFileSync(path.join(cacheDir, file!)).equals(written)).toBe(true);
  });

  it("writes nothing unless asked (the CLI asks after a successful run)", () => {
    expect(load("generate", { save: false })!.status).toBe("none");
    expect(readdirSync(dir)).not.toContain("cache");
  });

  it("rewrites a cache V8 rejects, and never fails because of one", () => {
    load("generate");
    const [file] = cacheFiles();
    writeFileSync(path.join(cacheDir, file!), "not a code cache");
    expect(load("generate")).toMatchObject({ status: "rejected", answer: 42 });
    expect(load("generate")!.status).toBe("used");
  });

  it("keys the cache by the bundle's bytes: an edit of the same length never runs stale bytecode", () => {
    load("generate");
    writeBundle(51);
    expect(load("generate")).toMatchObject({ status: "none", answer: 52 });
    expect(load("generate")).toMatchObject({ status: "used", answer: 52 });
  });

  it("keeps one cache per set of node flags (V8 rejects a cache made under others)", () => {
    load("generate");
    expect(load("generate", { nodeFlags: ["--max-old-space-size=300"] })!.status).toBe("none");
    expect(load("generate", { nodeFlags: ["--max-old-space-size=300"] })!.status).toBe("used");
    expect(load("generate")!.status).toBe("used");
    expect(cacheFiles()).toHaveLength(2);
  });

  it("keeps one cache per command", () => {
    load("generate");
    expect(load("eval")!.status).toBe("none");
    expect(cacheFiles()).toHaveLength(2);
  });

  it("runs on when the cache cannot be written, and leaves no temporary file", () => {
    // A file where its folder should be: nothing can be written at all.
    writeFileSync(cacheDir, "");
    expect(load("generate")).toMatchObject({ status: "none", answer: 42 });
    rmSync(cacheDir);
    // A folder (not empty) where the cache file should be: the temporary file is written, the
    // rename onto it fails, and the temporary file must go.
    load("generate");
    const [file] = cacheFiles();
    rmSync(path.join(cacheDir, file!));
    mkdirSync(path.join(cacheDir, file!, "x"), { recursive: true });
    expect(load("generate")).toMatchObject({ status: "none", answer: 42 });
    expect(cacheFiles().filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("deletes the command's files of other bundles untouched for 30 days when it writes one", () => {
    load("generate");
    const [current] = cacheFiles();
    const old = path.join(cacheDir, "generate.0123456789abcdef.v8-1.2.3.x64.bin");
    const recent = path.join(cacheDir, "generate.fedcba9876543210.v8-1.2.3.x64.bin");
    const otherCommand = path.join(cacheDir, "eval.0123456789abcdef.v8-1.2.3.x64.bin");
    for (const f of [old, recent, otherCommand]) writeFileSync(f, "x");
    const longAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000);
    utimesSync(old, longAgo, longAgo);
    utimesSync(otherCommand, longAgo, longAgo);
    rmSync(path.join(cacheDir, current!));
    load("generate");
    expect(cacheFiles()).toEqual([path.basename(otherCommand), current, path.basename(recent)].sort());
  });
});

describe("commandKey and compileCacheDir", () => {
  it("names the command, or main; help is its own key", () => {
    expect(commandKey(["generate", "--input_file", "x"])).toBe("generate");
    expect(commandKey(["generate", "--help"])).toBe("generate-help");
    expect(commandKey(["--version"])).toBe("main");
    expect(commandKey([])).toBe("main");
    expect(commandKey(["-h"])).toBe("main-help");
    expect(commandKey(["../../etc"])).toBe("main");
  });

  it("is off with VLMPIPE_COMPILE_CACHE=0, else the given folder or the user's cache folder", () => {
    expect(compileCacheDir({ VLMPIPE_COMPILE_CACHE: "0", VLMPIPE_COMPILE_CACHE_DIR: "/x" })).toBeUndefined();
    expect(compileCacheDir({ VLMPIPE_COMPILE_CACHE_DIR: "/x" })).toBe("/x");
    expect(compileCacheDir({ XDG_CACHE_HOME: "/c" })).toBe("/c/vlmpipe/compile-cache");
    // A relative XDG_CACHE_HOME is invalid by the spec: ignored.
    expect(compileCacheDir({ XDG_CACHE_HOME: "c" })).toMatch(/\.cache\/vlmpipe\/compile-cache$/);
  });
});

describe("the built CLI", () => {
  const run = async (args: string[], env: NodeJS.ProcessEnv) => waitExit(spawnCli(args, { env }));

  it("is one strict, ASCII-only CommonJS bundle beside its launcher", () => {
    const bytes = readFileSync(path.join(path.dirname(binPath), "vlmpipe.cjs"));
    // ASCII: read as latin1, a one-byte string for V8 (scripts/bundle-cli.mjs escapes the rest).
    expect(isAscii(bytes)).toBe(true);
    expect(bytes.toString("latin1").startsWith('"use strict";')).toBe(true);
    expect(readFileSync(binPath, "utf8")).toContain("vlmpipe.cjs");
  });

  it("writes a command's cache after it succeeds, uses it next time, and writes none on failure", async () => {
    const env = { VLMPIPE_COMPILE_CACHE_DIR: cacheDir };
    const version = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).version as string;
    expect((await run(["--version"], env)).stdout.trim()).toBe(version);
    const [file] = cacheFiles();
    expect(file).toMatch(/^main\.[0-9a-f]{16}\.v8-.+\.bin$/);
    const before = statSync(path.join(cacheDir, file!)).mtimeMs;
    const again = await run(["--version"], env);
    expect(again.stdout.trim()).toBe(version);
    expect(statSync(path.join(cacheDir, file!)).mtimeMs).toBe(before);

    const failed = await run(["no-such-command"], env);
    expect(failed.code).not.toBe(0);
    expect(cacheFiles()).toEqual([file]);

    rmSync(cacheDir, { recursive: true });
    expect((await run(["--version"], { VLMPIPE_COMPILE_CACHE: "0", ...env })).code).toBe(0);
    expect(readdirSync(dir)).not.toContain("cache");
  });

  it("writes one after a run with failed rows (exit 3): the command ran whole", async () => {
    const sim = await startSimServer({ model: "sim" });
    try {
      const input = path.join(dir, "rows.jsonl");
      writeFileSync(path.join(dir, "ok.png"), await png());
      writeFileSync(input, `${JSON.stringify({ problem: "q0", image_path: "ok.png" })}\n{"problem": "broken\n`);
      const r = await run(
        [
          "generate",
          "--input_file",
          input,
          "--output_file",
          path.join(dir, "out.jsonl"),
          "--prompt_config",
          "vlm/mmmu-pro",
          "--model",
          "sim",
          "--server_address",
          `${sim.url}/v1`,
          "--quiet",
        ],
        { VLMPIPE_COMPILE_CACHE_DIR: cacheDir },
      );
      expect(r.code, r.stderr).toBe(3);
      expect(cacheFiles()).toEqual([expect.stringMatching(/^generate\./)]);
    } finally {
      await sim.close();
    }
  });
});
