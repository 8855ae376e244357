/**
 * Python literals as MMMU stores them: `options` and `img_type` are the repr() of a list of
 * strings, e.g. `['$2^{10}$', "it's 5", 'a\\nb']`, which NeMo-Skills and the MMMU-Pro authors
 * read with `ast.literal_eval`. This is the subset repr() writes: str (single or double quoted,
 * u/r prefixes, Python's escapes, adjacent literals joined), numbers, True/False/None and nested
 * lists. Anything else is a SyntaxError, never a guess.
 */

export type PyValue = string | number | boolean | null | PyValue[];

export type ParseOptions = {
  /** Numbers, True, False and None as the text they are written with (a list of strings' items). */
  wordsAsText?: boolean;
};

/** The value of a Python literal; a SyntaxError saying where when `text` is not one. */
export function parsePythonLiteral(text: string, opts: ParseOptions = {}): PyValue {
  const p: Cursor = { s: text, i: 0, wordsAsText: opts.wordsAsText === true };
  const v = parseValue(p);
  skipWs(p);
  if (p.i !== p.s.length) throw new SyntaxError(`trailing characters after the value at ${p.i}`);
  return v;
}

/**
 * A list of strings as prepare_data reads `options`: a bare number, True, False or None item is
 * kept as the text it is written with (str() of it, as the prepared file stores it); a nested
 * list item is one string, its Python str() (MMMU-Pro's validation_Accounting_29 has the options
 * `[['A', 'B', 'Not enough information']]`: one option, which NeMo-Skills' prepare writes as
 * `A) ['A', 'B', 'Not enough information']`). Anything that is not a list is a SyntaxError.
 */
export function parsePythonStringList(text: string): string[] {
  const fail = (why: string): never => {
    throw new SyntaxError(`not a Python list of strings (${why}): ${text.slice(0, 80)}`);
  };
  let v: PyValue = null;
  try {
    v = parsePythonLiteral(text, { wordsAsText: true });
  } catch (e) {
    fail((e as Error).message);
  }
  if (!Array.isArray(v)) return fail("not a list");
  if (v.every((item) => typeof item === "string")) return v as string[];
  // Read again with typed values, so a nested list's items are written as Python's repr() writes them.
  const typed = parsePythonLiteral(text) as PyValue[];
  return v.map((item, i) => (typeof item === "string" ? item : pyRepr(typed[i]!)));
}

type Cursor = { s: string; i: number; wordsAsText: boolean };

function skipWs(p: Cursor): void {
  while (p.i < p.s.length && " \t\n\r\f\v".includes(p.s[p.i]!)) p.i++;
}

function parseValue(p: Cursor): PyValue {
  skipWs(p);
  const c = p.s[p.i];
  if (c === "[") return parseList(p);
  if (c === "'" || c === '"') return parseStrings(p, false);
  const prefix = /^[uUrR](?=['"])/.exec(p.s.slice(p.i, p.i + 2));
  if (prefix) {
    p.i += 1;
    return parseStrings(p, prefix[0] === "r" || prefix[0] === "R");
  }
  const word = /^(?:True|False|None|[-+]?(?:\d[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))/.exec(
    p.s.slice(p.i, p.i + 64),
  );
  if (!word) throw new SyntaxError(`expected a string, a number, True, False, None or a list at ${p.i}`);
  p.i += word[0].length;
  if (p.wordsAsText) return word[0];
  if (word[0] === "True") return true;
  if (word[0] === "False") return false;
  if (word[0] === "None") return null;
  return Number(word[0].replaceAll("_", ""));
}

function parseList(p: Cursor): PyValue[] {
  p.i++; // [
  const out: PyValue[] = [];
  skipWs(p);
  if (p.s[p.i] === "]") {
    p.i++;
    return out;
  }
  for (;;) {
    out.push(parseValue(p));
    skipWs(p);
    const c = p.s[p.i++];
    if (c === "]") return out;
    if (c !== ",") throw new SyntaxError(`expected ',' or ']' at ${p.i - 1}`);
    skipWs(p);
    if (p.s[p.i] === "]") {
      p.i++;
      return out; // trailing comma
    }
  }
}

/** One string literal, or several adjacent ones (Python concatenates them). */
function parseStrings(p: Cursor, raw: boolean): string {
  let out = parseString(p, raw);
  for (;;) {
    const save = p.i;
    skipWs(p);
    const c = p.s[p.i];
    if (c === "'" || c === '"') out += parseString(p, false);
    else {
      p.i = save;
      return out;
    }
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  n: "\n",
  r: "\r",
  t: "\t",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
};

function parseString(p: Cursor, raw: boolean): string {
  const q = p.s[p.i++]!;
  if (p.s.startsWith(q + q, p.i)) throw new SyntaxError("triple-quoted strings are not supported");
  let out = "";
  let start = p.i;
  while (p.i < p.s.length) {
    const c = p.s[p.i]!;
    if (c === q) {
      out += p.s.slice(start, p.i);
      p.i++;
      return out;
    }
    if (c === "\n") throw new SyntaxError("newline in string literal");
    if (c !== "\\") {
      p.i++;
      continue;
    }
    out += p.s.slice(start, p.i);
    const e = p.s[p.i + 1];
    if (e === undefined) break;
    if (raw) {
      out += `\\${e}`; // a raw string keeps the backslash; it still protects a quote
      p.i += 2;
    } else if (e in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[e];
      p.i += 2;
    } else if (e === "\n") {
      p.i += 2; // line continuation
    } else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = p.s.slice(p.i + 2, p.i + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new SyntaxError(`bad \\${e} escape`);
      out += String.fromCodePoint(Number.parseInt(hex, 16));
      p.i += 2 + n;
    } else if (e >= "0" && e <= "7") {
      const oct = /^[0-7]{1,3}/.exec(p.s.slice(p.i + 1, p.i + 4))![0];
      out += String.fromCodePoint(Number.parseInt(oct, 8));
      p.i += 1 + oct.length;
    } else if (e === "N") {
      throw new SyntaxError("\\N{...} escapes are not supported");
    } else {
      out += `\\${e}`; // Python keeps unknown escapes as written
      p.i += 2;
    }
    start = p.i;
  }
  throw new SyntaxError("unterminated string literal");
}

/** Python's repr() of a literal value (used only for non-string options). */
export function pyRepr(v: PyValue): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object") return JSON.stringify(v);
  return pyStringRepr(v);
}

/** Python's repr() of a str: single quotes unless it holds one and no double quote; non-printable characters escaped. */
export function pyStringRepr(v: string): string {
  const q = v.includes("'") && !v.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of v) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === q) out += `\\${q}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Z}]/u.test(ch)) {
      out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    } else out += ch;
  }
  return out + q;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}
