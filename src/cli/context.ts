import type { Readable, Writable } from "node:stream";

/** What a command needs from its process; tests pass their own streams. */
export type CliContext = {
  /** `++key=value` overrides, parsed into a nested object. */
  overrides: Record<string, unknown>;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Set by a command: the process's exit code. */
  exitCode: number;
  /** Install SIGINT/SIGTERM handlers (the real CLI) or not (in-process tests). */
  handleSignals: boolean;
};

/** Exit codes (docs/guarantees.md, "Exit codes"). */
export const Exit = {
  OK: 0,
  /** A run-level failure: server unreachable, too many failed rows in a row, an internal error. */
  FAILURE: 1,
  /** Bad flags, config, input or output paths, an output another run holds: nothing was run. */
  USAGE: 2,
  /** The run finished but some rows failed (they have `error`; a rerun retries them). */
  ROWS_FAILED: 3,
  /** Stopped by Ctrl-C/SIGTERM; the partial output is valid and resumable. */
  INTERRUPTED: 130,
  /** stdout's reader went away (`| head`): stopped quietly, as a writer killed by SIGPIPE. */
  BROKEN_PIPE: 141,
} as const;
