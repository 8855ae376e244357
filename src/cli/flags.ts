/** Flags whose value is passed on untouched even when it starts with "--". */
const VERBATIM_VALUE = new Set(["--server_args"]);

/**
 * Flags are snake_case as in NeMo-Skills; kebab-case spellings are accepted by rewriting
 * `--max-concurrent-requests` to `--max_concurrent_requests` before commander sees them.
 */
export function normalizeFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  let verbatim = false;
  for (const a of argv) {
    // The value of --server_args is the server's own flags ("--max-model-len 128000"): as typed.
    if (verbatim) {
      verbatim = false;
      out.push(a);
      continue;
    }
    if (passthrough || a === "--" || !a.startsWith("--")) {
      if (a === "--") passthrough = true;
      out.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    const rest = eq < 0 ? "" : a.slice(eq);
    const flag = "--" + name.slice(2).replaceAll("-", "_");
    if (eq < 0 && VERBATIM_VALUE.has(flag)) verbatim = true;
    out.push(flag + rest);
  }
  return out;
}

/** Repeatable flag: collects values into a list. */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}
