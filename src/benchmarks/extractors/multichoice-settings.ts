import type { MultichoiceSettings } from "./multichoice.js";

/**
 * A row's own extraction settings, as NeMo-Skills' eval_mcq reads them: `sample.get(key, config value)`
 * for `extract_from_boxed`, `extract_regex` and `relaxed`, so a key present on the row wins even when
 * null (Python then tests its truthiness: null, false, 0, "" and [] are false).
 * Throws TypeError for an `extract_regex` that is neither a string nor a list of strings (upstream raises).
 */
export function rowSettings(row: Record<string, unknown>, base: MultichoiceSettings): MultichoiceSettings {
  if (!("extract_from_boxed" in row) && !("extract_regex" in row) && !("relaxed" in row)) return base;
  const s = { ...base };
  if ("extract_from_boxed" in row) s.extractFromBoxed = pyTruthy(row.extract_from_boxed);
  if ("relaxed" in row) s.relaxed = pyTruthy(row.relaxed);
  if ("extract_regex" in row) {
    const r = row.extract_regex;
    const ok = typeof r === "string" || (Array.isArray(r) && r.every((x) => typeof x === "string"));
    if (!ok) {
      throw new TypeError(`the row's extract_regex must be a string or a list of strings, got ${JSON.stringify(r)}`);
    }
    s.extractRegex = r as string | string[];
  }
  return s;
}

/** Python's bool(value) for a JSON value. */
export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}
