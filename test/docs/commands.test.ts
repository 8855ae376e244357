import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot, spawnCli, waitExit } from "../helpers/bin.js";

/**
 * docs/commands.md is the command reference; the CLI's --help is the truth. Both directions are
 * checked so the page cannot drift: every flag a command's help prints is named in that command's
 * section, and every flag the page names is one some command's help prints.
 */

/** Flags of other programs the page names as theirs (vLLM and SGLang flags given to `--server_args`). */
const SERVER_FLAGS = new Set(["--async-scheduling", "--max-model-len", "--tensor-parallel-size", "--tp"]);

async function help(args: string[]): Promise<string> {
  const r = await waitExit(spawnCli([...args, "--help"]));
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** Command names from the top-level help's "Commands:" list (commander's own `help` left out). */
function commandNames(topHelp: string): string[] {
  const list = topHelp.split(/^Commands:$/m)[1] ?? "";
  return [...list.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
}

/** Long flags of the "Options:" lines (an option line starts with two spaces and a dash; wrapped text has more). */
function helpFlags(text: string): string[] {
  return [...text.matchAll(/^ {2}(?:-[A-Za-z], )?(--[a-z][\w-]*)/gm)].map((m) => m[1]!);
}

/** The text of `## name` in the page, up to the next `## `. */
function section(page: string, name: string): string {
  const start = page.indexOf(`\n## ${name}\n`);
  if (start < 0) return "";
  const next = page.indexOf("\n## ", start + 1);
  return page.slice(start, next < 0 ? undefined : next);
}

/** Every `--flag` the text names (not the `--` of a sentence). */
function namedFlags(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])(--[a-z][\w-]*)/g)].map((m) => m[1]!);
}

let page: string;
let top: string;
const flagsOf = new Map<string, string[]>();

beforeAll(async () => {
  page = await readFile(path.join(repoRoot, "docs", "commands.md"), "utf8");
  top = await help([]);
  for (const cmd of commandNames(top)) flagsOf.set(cmd, helpFlags(await help([cmd])));
}, 120_000);

describe("docs/commands.md against --help", () => {
  it("finds the commands and their flags in the help", () => {
    expect([...flagsOf.keys()]).toEqual(expect.arrayContaining(["generate", "eval", "score", "sim-server"]));
    expect(flagsOf.get("generate")).toContain("--prompt_config");
    expect(helpFlags(top)).toEqual(expect.arrayContaining(["--version", "--debug", "--help"]));
  });

  it("names every top-level option", () => {
    const missing = helpFlags(top).filter((f) => !page.includes(`\`${f}\``));
    expect(missing).toEqual([]);
  });

  it("has a section per command naming every flag its --help prints", () => {
    const missing: string[] = [];
    for (const [cmd, flags] of flagsOf) {
      const text = section(page, cmd);
      if (!text) {
        missing.push(`no "## ${cmd}" section`);
        continue;
      }
      for (const f of flags) if (f !== "--help" && !text.includes(`\`${f}\``)) missing.push(`${cmd} ${f}`);
    }
    expect(missing).toEqual([]);
  });

  it("names no flag that no command has (kebab-case spellings of snake_case flags are accepted)", () => {
    const known = new Set([...helpFlags(top), ...[...flagsOf.values()].flat()]);
    const stale = [...new Set(namedFlags(page))].filter(
      (f) => !known.has(f) && !known.has(f.replaceAll("-", "_").replace(/^__/, "--")) && !SERVER_FLAGS.has(f),
    );
    expect(stale).toEqual([]);
  });

  it("would catch a stale flag and a missing one", () => {
    const named = namedFlags("use `--gone_flag` or --prompt_config, not a -- dash");
    expect(named).toEqual(["--gone_flag", "--prompt_config"]);
    expect(section("# x\n\n## generate\n\n`--model`\n\n## eval\n", "generate")).toContain("`--model`");
    expect(section("# x\n\n## generate\n", "score")).toBe("");
  });
});
