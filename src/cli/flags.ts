/**
 * Flags are snake_case as in NeMo-Skills; kebab-case spellings are accepted by rewriting
 * `--max-concurrent-requests` to `--max_concurrent_requests` before commander sees them.
 */
export function normalizeFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const a of argv) {
    if (passthrough || a === "--" || !a.startsWith("--")) {
      if (a === "--") passthrough = true;
      out.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    const rest = eq < 0 ? "" : a.slice(eq);
    out.push("--" + name.slice(2).replaceAll("-", "_") + rest);
  }
  return out;
}

export function intArg(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${name} takes a whole number, got "${v}"`);
    return n;
  };
}

export function numberArg(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name} takes a number, got "${v}"`);
    return n;
  };
}

/** Repeatable flag: collects values into a list. */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}
