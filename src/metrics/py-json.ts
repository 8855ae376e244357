import { pyFloatRepr } from "../util/py-float.js";
import { INT_METRICS } from "./types.js";

/**
 * metrics.json's text as NeMo-Skills writes it, `json.dump(results, f, indent=2)`: two-space
 * indent, `,` at line ends and `": "` after keys, `{}` for an empty object, no newline at the end,
 * strings with ensure_ascii (every character outside space..~ as `\uXXXX` in lower-case hex, or its
 * short escape). Numbers keep Python's types: the counts NeMo-Skills computes as ints (INT_METRICS)
 * are written as ints, every other number is a float in Python's repr (`25.0`, `1e-05`), with json's
 * `NaN`, `Infinity`, `-Infinity`. Maps are written in their order, as Python's dicts are.
 */
export function pyJsonDump(value: unknown): string {
  return write(value, "", undefined);
}

function write(v: unknown, indent: string, key: string | undefined): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return key !== undefined && INT_METRICS.has(key) ? pyInt(v) : jsonFloat(v);
  if (typeof v === "string") return pyJsonString(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => inner + write(x, inner, undefined)).join(",\n")}\n${indent}]`;
  }
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  const items = entries.map(([k, x]) => `${inner}${pyJsonString(String(k))}: ${write(x, inner, String(k))}`);
  return `{\n${items.join(",\n")}\n${indent}}`;
}

function pyInt(x: number): string {
  return Number.isInteger(x) ? BigInt(x).toString() : jsonFloat(x);
}

function jsonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return pyFloatRepr(x);
}

const SHORT: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  '"': '\\"',
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** json's encode_basestring_ascii: UTF-16 code units above ~ escaped one by one (astral ones as their surrogate pair). */
function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && ch !== "\\" && ch !== '"') out += ch;
    else out += SHORT[ch] ?? `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}
