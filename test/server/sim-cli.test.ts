import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerSimServer, runSimServer } from "../../src/cli/sim-server.js";
import { SimServerOptionsSchema } from "../../src/server/sim/options.js";
import type { SimServer } from "../../src/server/sim/sim-server.js";
import { get } from "./sim-helpers.js";

function program(): Command {
  const p = new Command();
  p.exitOverride();
  p.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerSimServer(p);
  return p;
}

describe("vlmpipe sim-server", () => {
  afterEach(() => vi.restoreAllMocks());

  it("prints one listening line and serves until its signal aborts", async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    let server: SimServer | undefined;
    const done = runSimServer(
      { model: "demo", port: 0 },
      { signal: ac.signal, log: (l) => lines.push(l), onListening: (s) => (server = s) },
    );
    await vi.waitFor(() => expect(server).toBeDefined());
    expect(lines).toEqual([`sim-server: listening on ${server!.url}/v1 (model demo)`]);
    expect((await get(server!.url, "/health")).status).toBe(200);
    ac.abort();
    await done;
    await expect(get(server!.url, "/health")).rejects.toThrow();
  });

  it("takes snake_case and kebab-case flags, writes only to stderr, and stops on SIGTERM", async () => {
    const err: string[] = [];
    const out: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    vi.spyOn(process.stdout, "write").mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    const run = program().parseAsync(
      [
        "sim-server",
        "--port",
        "0",
        "--model",
        "m1",
        "--max_model_len",
        "1234",
        "--latency-ms",
        "0",
        "--record_requests",
      ],
      { from: "user" },
    );
    await vi.waitFor(() => expect(err.join("")).toMatch(/listening/));
    const m = /^sim-server: listening on (http:\/\/127\.0\.0\.1:\d+)\/v1 \(model m1\)\n$/.exec(err.join(""));
    expect(m).not.toBeNull();
    const models = JSON.parse((await get(m![1]!, "/v1/models")).text);
    expect(models.data[0]).toMatchObject({ id: "m1", max_model_len: 1234 });
    process.emit("SIGTERM");
    await run;
    expect(out).toEqual([]);
  });

  it("names the flag in messages about bad values", async () => {
    await expect(program().parseAsync(["sim-server", "--accuracy", "2"], { from: "user" })).rejects.toThrow(
      /--accuracy: Too big/,
    );
    await expect(program().parseAsync(["sim-server", "--port", "abc"], { from: "user" })).rejects.toThrow(
      /--port: expected a number, got "abc"/,
    );
    await expect(program().parseAsync(["sim-server", "--reasoning", "loud"], { from: "user" })).rejects.toThrow(
      /--reasoning: Invalid option/,
    );
    // Past a Node timer's limit a delay fires after 1 ms (TimeoutOverflowWarning).
    for (const flag of ["--latency_ms", "--stall_ms", "--token_delay_ms"]) {
      await expect(program().parseAsync(["sim-server", flag, "3e9"], { from: "user" })).rejects.toThrow(
        new RegExp(`${flag}: at most 2147483000 ms`),
      );
    }
  });

  it("documents every option with its default in --help", () => {
    const cmd = program().commands.find((c) => c.name() === "sim-server")!;
    const help = cmd.helpInformation();
    for (const flag of [
      "--port",
      "--host",
      "--model",
      "--answers",
      "--accuracy",
      "--seed",
      "--latency_ms",
      "--max_model_len",
      "--limit_mm_per_prompt",
      "--reasoning",
      "--reasoning_field",
      "--error_format",
      "--record_requests",
      "--fail_rate",
      "--fail_status",
      "--retry_after",
      "--fail_first",
      "--drop_rate",
      "--drop_mid_stream_rate",
      "--stall_ms",
      "--stall_rate",
      "--malformed_rate",
      "--stream_error_rate",
    ]) {
      expect(help).toContain(flag);
    }
    // Every option but the in-process answer_rows has a flag.
    const keys = Object.keys(SimServerOptionsSchema.shape).filter((k) => k !== "answer_rows");
    for (const k of keys) expect(help).toContain(`--${k} `);
    expect(help).toMatch(/--fail_status <status>\s+HTTP status of injected failures \(default:\s+503\)/);
    expect(help).not.toContain("--latency-ms");
  });
});
