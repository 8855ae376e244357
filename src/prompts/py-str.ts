import { pyStringRepr } from "../benchmarks/shared/python-literal.js";
import { pyFloatRepr } from "../util/py-float.js";

/**
 * Python's str() of a JSON value, as NeMo-Skills' `template.format(**row)` writes a row's field:
 * None, True/False, lists and dicts in Python's repr (`['a', 'b']`, `{'k': 1}`), floats in
 * Python's repr (`1e-05`, `1e+16`). A JSON number with a fraction of zero (`1.0`) is a float in
 * Python ("1.0") but cannot be told from `1` once parsed: it is written as an integer.
 */
export function pyStr(v: unknown): string {
  return typeof v === "string" ? v : pyRepr(v);
}

/** Python's repr() of a JSON value (`!r` in a placeholder): strings quoted, the rest as pyStr. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return pyNumber(v);
  if (typeof v === "string") return pyStringRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object") {
    const items = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyStringRepr(k)}: ${pyRepr(x)}`);
    return `{${items.join(", ")}}`;
  }
  return String(v);
}

/** repr() of an int, or of a float (pyFloatRepr: shortest digits; exponent below 1e-4 and from 1e16). */
function pyNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16 && !Object.is(x, -0)) return String(x);
  return pyFloatRepr(x);
}
