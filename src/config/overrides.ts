import { UsageError } from "../errors.js";

/**
 * Hydra-style `++key.path=value` overrides, as NeMo-Skills users type them, parsed into a
 * nested object. Values: numbers, true/false (any case), null/None, [a,b] lists, {k:v} is
 * not supported; quotes keep a value a string ("0" stays "0"). White space around an
 * unquoted value or list element is dropped, as Hydra does.
 */
export function parseOverrides(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const arg of args) {
    const m = /^\+{1,2}([A-Za-z_][\w.-]*)=(.*)$/s.exec(arg);
    if (!m)
      throw new UsageError(`cannot parse override "${arg}": expected ++key=value, e.g. ++inference.temperature=0`);
    const [, key, raw] = m as unknown as [string, string, string];
    const keys = key.split(".");
    const bad = keys.findIndex((k) => NOT_KEYS.has(k));
    if (bad >= 0) {
      throw new UsageError(
        `unknown key ++${keys.slice(0, bad + 1).join(".")} in "${arg}": ${keys[bad]} is no setting's name`,
      );
    }
    setPath(out, keys, parseValue(raw));
  }
  return out;
}

/**
 * Names that are not settings: assigned on a plain object they reach its prototype
 * (`++__proto__.x=1` would set `x` on every object of the process).
 */
const NOT_KEYS: ReadonlySet<string> = new Set(["__proto__", "prototype", "constructor"]);

/** Splits argv into `++overrides` and the rest (which commander parses). */
export function splitOverrides(argv: readonly string[]): { overrides: string[]; rest: string[] } {
  const overrides: string[] = [];
  const rest: string[] = [];
  for (const a of argv) (a.startsWith("++") ? overrides : rest).push(a);
  return { overrides, rest };
}

export function parseValue(raw: string): unknown {
  const s = raw.trim();
  if (s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))) {
    return s.slice(1, -1);
  }
  if (/^(true)$/i.test(s)) return true;
  if (/^(false)$/i.test(s)) return false;
  if (/^(null|none|~)$/i.test(s)) return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (s.startsWith("[") && s.endsWith("]")) {
    const inner = s.slice(1, -1).trim();
    if (inner === "") return [];
    return splitTopLevel(inner).map(parseValue);
  }
  return s;
}

/** Splits "a,'b,c',d" on commas outside quotes and brackets. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = "";
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === "[") {
      depth++;
      cur += ch;
    } else if (ch === "]") {
      depth--;
      cur += ch;
    } else if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let cur = obj;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) {
      cur[k] = value;
      return;
    }
    const next = cur[k];
    if (typeof next !== "object" || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  });
}

/**
 * Deep merge of plain objects; `b` wins. Arrays are replaced, not merged. An own `__proto__`
 * key (JSON.parse makes one) stays an own key, so the schema refuses it as an unknown key,
 * instead of being assigned, which would replace the merged object's prototype.
 */
export function deepMerge<T extends Record<string, unknown>>(a: T, b: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = Object.hasOwn(out, k) ? out[k] : undefined;
    const value = isPlain(prev) && isPlain(v) ? deepMerge(prev, v) : v;
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
