import { map, type OperatorFunction } from "rxjs";
import { UsageError } from "../errors.js";
import type { Sample } from "../types.js";

/**
 * Checks the first readable row has every named field, and ends the stream with a UsageError
 * (exit 2) naming the fields it does have when not: a mistyped `--generation_key` would
 * otherwise score every row as unanswered and print 0.00% with exit 0. Later rows pass as they are.
 *
 *   rows.pipe(requireFields([{ flag: "--generation_key", key: "generation" }]))
 */
export function requireFields(fields: { flag: string; key: string }[]): OperatorFunction<Sample, Sample> {
  let checked = false;
  return map((s) => {
    if (checked || s.error) return s;
    checked = true;
    const missing = fields.filter((f) => !(f.key in s.row));
    if (missing.length > 0) {
      const names = missing.map((f) => `${f.flag} ${f.key}`).join(" and ");
      const has = Object.keys(s.row).join(", ") || "none";
      throw new UsageError(`${names}: no such field in the rows (the first row has: ${has})`);
    }
    return s;
  });
}
