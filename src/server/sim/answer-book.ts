/**
 * The answer book: which benchmark question a request is about.
 * A request matches a row when its text contains the row's `problem` (or, failing that, its
 * `id`). Scanning ~2,000 problems per request would cost milliseconds at thousands of
 * requests a second, so problems are indexed by a three-word window and only the few rows
 * whose window appears in the request are checked with `includes`.
 */
import { readFile } from "node:fs/promises";
import { errorMessage, UsageError } from "../../errors.js";
import { type AnswerRow, AnswerRowSchema } from "./options.js";

export type BookEntry = {
  /** What the deterministic draws hash: the id when there is one, else the problem. */
  key: string;
  /** The problem as matched (see matchText). */
  problem?: string;
  id?: string;
  expected: string;
  /** The valid option letters, A.. (from `options`, the problem's `A)` lines, or 4). */
  letters: string[];
  /** An open question: answered with the answer text alone, not a letter. */
  open: boolean;
};

export type AnswerBook = {
  size: number;
  /** The row a request's text is about, if any. */
  find(text: string): BookEntry | undefined;
};

const WINDOW = 3;
const MAX_WINDOWS = 64;
const CACHE_MAX = 5000;
// Tokens for id lookup: ids hold letters, digits and `_-./`; everything else separates.
const ID_SPLIT = /[\s,;:"'`()[\]{}<>|!?=*#]+/;
const ID_SAFE = /^[^\s,;:"'`()[\]{}<>|!?=*#]+$/;

export async function loadAnswerRows(path: string): Promise<AnswerRow[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new UsageError(`sim-server: cannot read answers file ${path}: ${errorMessage(e)}`);
  }
  const rows: AnswerRow[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`sim-server: ${path} line ${i + 1} is not JSON: ${errorMessage(e)}`);
    }
    const r = AnswerRowSchema.safeParse(json);
    if (!r.success) {
      const what = r.error.issues.map((x) => `${x.path.join(".") || "row"}: ${x.message}`).join("; ");
      throw new UsageError(`sim-server: ${path} line ${i + 1}: ${what}`);
    }
    rows.push(r.data);
  }
  return rows;
}

/** Option letters seen as `A) ...`, `(A) ...`, `A. ...` or `A: ...` at line starts. */
export function lettersInText(text: string): number {
  const seen = new Set<string>();
  for (const m of text.matchAll(/^[ \t]*\(?([A-Z])(?:\)|\.|:)[ \t]*\S/gm)) seen.add(m[1]!);
  let n = 0;
  while (seen.has(String.fromCharCode(65 + n))) n++;
  return n;
}

function optionCount(options: AnswerRow["options"]): number {
  if (options === undefined) return 0;
  if (Array.isArray(options)) return options.length;
  try {
    const parsed: unknown = JSON.parse(options);
    if (Array.isArray(parsed)) return parsed.length;
  } catch {
    // Python's repr of a list: count its quoted items.
  }
  return options.match(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g)?.length ?? 0;
}

export function letterRange(n: number): string[] {
  return Array.from({ length: Math.max(1, Math.min(26, n)) }, (_, i) => String.fromCharCode(65 + i));
}

/**
 * The text a problem is matched by: image markers (`<image 2>`) dropped and white space folded,
 * since a client places the image itself where its marker stood (interleaved content parts)
 * and joins the text around it in its own way.
 */
export function matchText(text: string): string {
  return text
    .replace(/<image \d+>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * Open when the row says so (`question_type` other than multiple-choice), lists `answers`, or
 * expects something other than one capital letter. A list answer written as Python list text
 * (MMMU's open answers) is answered with its first item.
 */
function openAnswer(row: AnswerRow, expected: string): { open: boolean; expected: string } {
  const open =
    (row.question_type !== undefined && row.question_type !== "multiple-choice") ||
    row.answers !== undefined ||
    !/^[A-Z]$/.test(expected);
  const first = open ? /^\[\s*(['"])(.*?)\1\s*[,\]]/.exec(expected)?.[2] : undefined;
  return { open, expected: first ?? expected };
}

function toEntry(row: AnswerRow): BookEntry {
  const problem = row.problem === undefined ? undefined : matchText(row.problem) || undefined;
  const id = row.id === undefined ? undefined : String(row.id);
  const { open, expected } = openAnswer(row, String(row.expected_answer).trim());
  let n = optionCount(row.options) || (row.problem ? lettersInText(row.problem) : 0) || 4;
  // The expected letter must be one of the valid ones, whatever the options said.
  if (/^[A-Z]$/.test(expected)) n = Math.max(n, expected.charCodeAt(0) - 64);
  return { key: id ?? problem!, problem, id, expected, letters: letterRange(n), open };
}

/** Words of a text, with the empty strings of leading/trailing space removed. */
function words(text: string): string[] {
  const w = text.split(/\s+/);
  if (w.length > 0 && w[0] === "") w.shift();
  if (w.length > 0 && w[w.length - 1] === "") w.pop();
  return w;
}

export function createAnswerBook(rows: readonly AnswerRow[]): AnswerBook {
  const entries = rows.filter((r) => r.expected_answer !== null).map(toEntry);
  const byWindow = new Map<string, BookEntry[]>();
  const shortProblems: BookEntry[] = [];
  const byId = new Map<string, BookEntry>();
  const oddIds: BookEntry[] = [];

  // Each problem is indexed by its rarest interior window: benchmark problems often share
  // openings ("<image 1> Which of the following ..."), and a shared key would make every
  // request verify hundreds of candidates. The first and last words are never used: a
  // template may glue text to either end ("Question:<problem>?").
  const interior = new Map<BookEntry, string[]>();
  const freq = new Map<string, number>();
  for (const e of entries) {
    if (e.problem === undefined) continue;
    const w = words(e.problem);
    if (w.length < WINDOW + 2) {
      shortProblems.push(e);
      continue;
    }
    const keys = new Set<string>();
    // The first windows suffice to find a rare one, and bound the work for long problems.
    for (let j = 1; j + WINDOW < w.length && j <= MAX_WINDOWS; j++) keys.add(w.slice(j, j + WINDOW).join(" "));
    for (const k of keys) freq.set(k, (freq.get(k) ?? 0) + 1);
    interior.set(e, [...keys]);
  }
  for (const [e, keys] of interior) {
    let best = keys[0]!;
    for (const k of keys) if (freq.get(k)! < freq.get(best)!) best = k;
    const list = byWindow.get(best);
    if (list) list.push(e);
    else byWindow.set(best, [e]);
  }

  for (const e of entries) {
    if (e.id !== undefined) {
      if (ID_SAFE.test(e.id)) {
        if (!byId.has(e.id)) byId.set(e.id, e);
      } else {
        oddIds.push(e);
      }
    }
  }

  // Repeated prompts (seeds, retries, resumed runs) skip the lookup; Map hashes the text natively.
  const cache = new Map<string, BookEntry | null>();

  function lookup(text: string): BookEntry | undefined {
    let best: BookEntry | undefined;
    const consider = (e: BookEntry) => {
      if (best !== undefined && best.problem!.length >= e.problem!.length) return;
      if (text.includes(e.problem!)) best = e;
    };
    if (byWindow.size > 0) {
      const w = words(text);
      for (let j = 0; j + WINDOW <= w.length; j++) {
        const list = byWindow.get(`${w[j]} ${w[j + 1]} ${w[j + 2]}`);
        if (list) for (const e of list) consider(e);
      }
    }
    for (const e of shortProblems) consider(e);
    if (best) return best;

    if (byId.size > 0) {
      for (let tok of text.split(ID_SPLIT)) {
        if (tok.endsWith(".")) tok = tok.replace(/\.+$/, "");
        const e = byId.get(tok);
        if (e) return e;
      }
    }
    for (const e of oddIds) if (text.includes(e.id!)) return e;
    return undefined;
  }

  return {
    size: entries.length,
    find(raw) {
      if (entries.length === 0) return undefined;
      const text = matchText(raw);
      const hit = cache.get(text);
      if (hit !== undefined) return hit ?? undefined;
      const found = lookup(text);
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
      cache.set(text, found ?? null);
      return found;
    },
  };
}
