import { PassThrough } from "node:stream";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import type { CliContext } from "../../src/cli/context.js";
import { buildProgram, COMMANDS, commandOf } from "../../src/cli/run-cli.js";

function context(): CliContext {
  return {
    overrides: {},
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    exitCode: 0,
    handleSignals: false,
  };
}

const shape = (c: Command) => ({
  name: c.name(),
  description: c.description(),
  hidden: (c as unknown as { _hidden: boolean })._hidden,
  args: c.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)),
  hasOptions: c.options.length > 0,
});

describe("the CLI's command table", () => {
  it("lists each command as its module defines it, in order", async () => {
    const full = await buildProgram(context());
    expect(full.commands.map(shape)).toEqual(
      COMMANDS.map((s) => ({
        name: s.name,
        description: s.description,
        hidden: !!s.hidden,
        args: s.args ?? [],
        hasOptions: true,
      })),
    );
  });

  it("shows the same help whether every command is loaded or only the one asked for", async () => {
    const full = await buildProgram(context());
    expect((await buildProgram(context(), { command: undefined })).helpInformation()).toBe(full.helpInformation());
    for (const spec of COMMANDS) {
      const lazy = await buildProgram(context(), { command: spec.name });
      expect(lazy.helpInformation()).toBe(full.helpInformation());
      const cmd = lazy.commands.find((c) => c.name() === spec.name) as Command;
      const want = full.commands.find((c) => c.name() === spec.name) as Command;
      expect(cmd.helpInformation()).toBe(want.helpInformation());
    }
  });

  it("finds the command to load in the arguments", () => {
    expect(commandOf(["generate", "--input_file", "x"])).toBe("generate");
    expect(commandOf(["help", "score"])).toBe("score");
    expect(commandOf(["--version"])).toBeUndefined();
    expect(commandOf(["help"])).toBeUndefined();
  });
});
