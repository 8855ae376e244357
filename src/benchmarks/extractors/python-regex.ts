/**
 * Python `re` patterns (str patterns, Python 3.11) run by JavaScript's RegExp, for NeMo-Skills'
 * per-row `extract_regex`: the pattern is translated once into a `v`-mode RegExp with Python's meaning
 * where the two differ: `.` stops only at "\n", `$` also matches before a final "\n", `\s` `\d` `\w`
 * `\b` are Python's Unicode classes, `(?i)` also folds the Turkish ı and İ onto i, `{,n}`, `(?P<name>)`,
 * `(?P=name)`, `\A`, `\Z`, global and scoped `(?ismxa)` flags, verbose mode. `findall` follows Python's
 * rules for empty matches. Python features JavaScript cannot express (atomic groups, possessive
 * quantifiers, conditionals, `\N{...}`, scoped case-insensitivity) throw PythonRegexError.
 */
export class PythonRegexError extends Error {
  constructor(pattern: string, why: string) {
    super(`cannot read ${JSON.stringify(pattern)} as a Python regular expression: ${why}`);
    this.name = "PythonRegexError";
  }
}

export type PythonRegex = {
  readonly pattern: string;
  readonly regex: RegExp;
  /** Capturing groups, as Python's `groups`. */
  readonly groups: number;
};

// Python's str.isspace() set, as class content (JS \s has U+FEFF and lacks U+001C..U+001F and U+0085).
export const PY_WHITESPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_WORD = "\\p{L}\\p{N}_"; // str.isalnum() or "_"
const CLASSES: Record<string, { unicode: string; ascii: string }> = {
  d: { unicode: "\\p{Nd}", ascii: "0-9" },
  s: { unicode: PY_WHITESPACE, ascii: " \\t\\n\\r\\f\\v" },
  w: { unicode: PY_WORD, ascii: "A-Za-z0-9_" },
};
const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92 };
const TURKISH_I = "\\u{130}\\u{131}";

type Flags = { i: boolean; m: boolean; s: boolean; x: boolean; a: boolean };

const cache = new Map<string, PythonRegex | PythonRegexError>();
const CACHE_MAX = 256;

/** The compiled pattern (cached); throws PythonRegexError for a pattern Python or this translation rejects. */
export function compilePythonRegex(pattern: string): PythonRegex {
  let hit = cache.get(pattern);
  if (hit === undefined) {
    try {
      hit = translate(pattern);
    } catch (e) {
      hit = e instanceof PythonRegexError ? e : new PythonRegexError(pattern, (e as Error).message);
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, hit);
  }
  if (hit instanceof PythonRegexError) throw hit;
  return hit;
}

/**
 * The last item `re.findall(pattern, text)` returns: the whole match without groups, group 1 with
 * one group, all groups (unmatched ones "") with more; undefined when nothing matches.
 */
export function findallLast(py: PythonRegex, text: string): string | string[] | undefined {
  const re = py.regex;
  let last: RegExpExecArray | null = null;
  let pos = 0;
  while (pos <= text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) break;
    if (m[0].length > 0) {
      last = m;
      pos = m.index + m[0].length;
      continue;
    }
    last = m;
    // Python 3.7+: after an empty match the next one may start at the same place if it is not empty.
    const at = nonEmptyAt(py, text, m.index);
    if (at !== null) {
      last = at;
      pos = at.index + at[0].length;
    } else {
      pos = m.index + codeUnitsAt(text, m.index);
      if (m.index >= text.length) break;
    }
  }
  if (last === null) return undefined;
  if (py.groups === 0) return last[0];
  if (py.groups === 1) return last[1] ?? "";
  return Array.from({ length: py.groups }, (_, g) => last[g + 1] ?? "");
}

function nonEmptyAt(py: PythonRegex, text: string, index: number): RegExpExecArray | null {
  const before = [...text.slice(0, index)].length;
  // The match must end at least one code point past where it starts.
  const re = new RegExp(`(?:${py.regex.source})(?<=^[\\s\\S]{${before + 1},})`, py.regex.flags.replace("g", "y"));
  re.lastIndex = index;
  return re.exec(text);
}

function codeUnitsAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
}

function translate(pattern: string): PythonRegex {
  const t = new Translator(pattern);
  const source = t.run();
  const regex = new RegExp(source, t.flags.i ? "giv" : "gv");
  return { pattern, regex, groups: t.groupCount };
}

class Translator {
  private readonly cps: string[];
  private i = 0;
  flags: Flags = { i: false, m: false, s: false, x: false, a: false };
  groupCount = 0;
  private readonly openGroups: number[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly pattern: string) {
    this.cps = Array.from(pattern);
  }

  run(): string {
    this.globalFlags();
    const out = this.sequence(this.flags, 0);
    if (this.i < this.cps.length) throw this.error("unbalanced parenthesis");
    return out;
  }

  private error(why: string): PythonRegexError {
    return new PythonRegexError(this.pattern, `${why} at position ${this.i}`);
  }

  // Leading `(?aimsux)` groups set the whole pattern's flags (Python 3.11 allows them only at the start).
  private globalFlags(): void {
    for (;;) {
      const m = /^\(\?([aiLmsux]+)\)/.exec(this.cps.slice(this.i).join(""));
      if (m === null) return;
      for (const f of m[1]!) {
        if (f === "L") throw this.error("the LOCALE flag is for bytes patterns");
        if (f in this.flags) this.flags[f as keyof Flags] = true;
      }
      this.i += m[0].length;
      if (this.flags.x) this.skipVerbose();
    }
  }

  private sequence(flags: Flags, depth: number): string {
    let out = "";
    while (this.i < this.cps.length) {
      if (flags.x) {
        this.skipVerbose();
        if (this.i >= this.cps.length) break;
      }
      const c = this.cps[this.i]!;
      if (c === ")") {
        if (depth === 0) throw this.error("unbalanced parenthesis");
        return out;
      }
      this.i++;
      switch (c) {
        case "|":
          out += "|";
          break;
        case ".":
          out += flags.s ? "[\\s\\S]" : "[^\\n]";
          break;
        case "^":
          out += flags.m ? "(?<![^\\n])" : "(?<![\\s\\S])";
          break;
        case "$":
          out += flags.m ? "(?![^\\n])" : "(?=\\n?(?![\\s\\S]))";
          break;
        case "*":
        case "+":
        case "?":
          out += c + this.quantifierSuffix();
          break;
        case "{": {
          const q = this.braceQuantifier();
          out += q === null ? "\\{" : q + this.quantifierSuffix();
          break;
        }
        case "[":
          out += this.charClass(flags);
          break;
        case "(":
          out += this.group(flags, depth);
          break;
        case "\\":
          out += this.escape(flags);
          break;
        default:
          out += literal(c, flags);
      }
    }
    if (depth > 0) throw this.error("missing ), unterminated subpattern");
    return out;
  }

  private skipVerbose(): void {
    while (this.i < this.cps.length) {
      const c = this.cps[this.i]!;
      if (/\s/.test(c)) this.i++;
      else if (c === "#") {
        while (this.i < this.cps.length && this.cps[this.i] !== "\n") this.i++;
      } else return;
    }
  }

  private quantifierSuffix(): string {
    const c = this.cps[this.i];
    if (c === "?") {
      this.i++;
      return "?";
    }
    if (c === "+") throw this.error("possessive quantifiers have no JavaScript equivalent");
    return "";
  }

  // `{m}`, `{m,}`, `{,n}`, `{m,n}`, `{,}`; anything else makes `{` a literal, as in Python.
  private braceQuantifier(): string | null {
    const m = /^(\d*)(?:(,)(\d*))?\}/.exec(this.cps.slice(this.i, this.i + 40).join(""));
    if (m === null || (m[1] === "" && m[2] === undefined)) return null;
    this.i += m[0].length;
    const lo = m[1] === "" ? "0" : String(Number(m[1]));
    if (m[2] === undefined) return `{${lo}}`;
    if (m[3] !== "" && Number(m[3]) < Number(lo)) throw this.error("min repeat greater than max repeat");
    return m[3] === "" ? `{${lo},}` : `{${lo},${Number(m[3])}}`;
  }

  private group(flags: Flags, depth: number): string {
    if (this.cps[this.i] !== "?") return this.capture(flags, depth, "(");
    const rest = this.cps.slice(this.i + 1, this.i + 40).join("");
    if (rest.startsWith(":")) return this.inner("(?:", 2, flags, depth);
    if (rest.startsWith("=") || rest.startsWith("!")) return this.inner(`(?${rest[0]}`, 2, flags, depth);
    if (rest.startsWith("<=") || rest.startsWith("<!")) return this.inner(`(?${rest.slice(0, 2)}`, 3, flags, depth);
    if (rest.startsWith("#")) {
      while (this.i < this.cps.length && this.cps[this.i] !== ")") this.i++;
      if (this.i >= this.cps.length) throw this.error("missing ), unterminated comment");
      this.i++;
      return "";
    }
    const named = /^P<([^>]*)>/.exec(rest);
    if (named !== null) {
      const name = named[1]!;
      if (!/^[\p{L}_][\p{L}\p{N}_]*$/u.test(name)) {
        throw this.error(`bad character in group name ${JSON.stringify(name)}`);
      }
      if (this.names.has(name)) throw this.error(`redefinition of group name ${JSON.stringify(name)}`);
      this.names.add(name);
      this.i += 1 + named[0].length;
      return this.capture(flags, depth, `(?<${name}>`);
    }
    const ref = /^P=([^)]*)\)/.exec(rest);
    if (ref !== null) {
      if (!this.names.has(ref[1]!)) throw this.error(`unknown group name ${JSON.stringify(ref[1])}`);
      this.i += 1 + ref[0].length;
      return `\\k<${ref[1]}>`;
    }
    const scoped = /^([aimsux]*)(?:-([imsx]+))?:/.exec(rest);
    if (scoped !== null && (scoped[1] !== "" || scoped[2] !== undefined)) {
      const on = scoped[1]!;
      const off = scoped[2] ?? "";
      const inner: Flags = { ...flags };
      for (const f of on) if (f in inner) inner[f as keyof Flags] = true;
      for (const f of off) inner[f as keyof Flags] = false;
      if (inner.i !== flags.i) {
        throw this.error("scoped case-insensitivity ((?i:...), (?-i:...)) has no JavaScript equivalent here");
      }
      this.i += 1 + scoped[0].length;
      return this.innerWith("(?:", inner, depth);
    }
    if (/^[aiLmsux]+\)/.test(rest)) throw this.error("global flags not at the start of the expression");
    if (rest.startsWith(">")) throw this.error("atomic groups have no JavaScript equivalent");
    if (rest.startsWith("(")) throw this.error("conditional groups have no JavaScript equivalent");
    throw this.error(`unknown extension ?${rest[0] ?? ""}`);
  }

  private capture(flags: Flags, depth: number, open: string): string {
    const n = ++this.groupCount;
    this.openGroups.push(n);
    const body = this.sequence(flags, depth + 1);
    this.closeParen();
    this.openGroups.pop();
    return `${open}${body})`;
  }

  private inner(open: string, skip: number, flags: Flags, depth: number): string {
    this.i += skip;
    return this.innerWith(open, flags, depth);
  }

  private innerWith(open: string, flags: Flags, depth: number): string {
    const body = this.sequence(flags, depth + 1);
    this.closeParen();
    return `${open}${body})`;
  }

  private closeParen(): void {
    if (this.cps[this.i] !== ")") throw this.error("missing ), unterminated subpattern");
    this.i++;
  }

  private escape(flags: Flags): string {
    const c = this.cps[this.i++];
    if (c === undefined) throw this.error("bad escape (end of pattern)");
    switch (c) {
      case "A":
        return "(?<![\\s\\S])";
      case "Z":
        return "(?![\\s\\S])";
      case "b":
      case "B": {
        const w = flags.a ? CLASSES.w!.ascii : PY_WORD;
        return c === "b"
          ? `(?:(?<=[${w}])(?![${w}])|(?<![${w}])(?=[${w}]))`
          : `(?:(?<=[${w}])(?=[${w}])|(?<![${w}])(?![${w}]))`;
      }
      case "d":
      case "s":
      case "w":
        return `[${classContent(c, flags)}]`;
      case "D":
      case "S":
      case "W":
        return `[^${classContent(c.toLowerCase(), flags)}]`;
    }
    if (/[0-9]/.test(c)) return this.numericEscape(c);
    return literal(String.fromCodePoint(this.charEscape(c)), flags);
  }

  // `\0`, `\0oo`, three octal digits: a character; otherwise `\N` / `\NN`: a group reference.
  private numericEscape(first: string): string {
    const next = this.cps[this.i] ?? "";
    const third = this.cps[this.i + 1] ?? "";
    if (first === "0") return escapeCodePoint(this.octal("0"));
    if (/[0-7]/.test(first) && /[0-7]/.test(next) && /[0-7]/.test(third)) {
      this.i += 2;
      const v = Number.parseInt(first + next + third, 8);
      if (v > 0o377) throw this.error("octal escape value outside of range 0-0o377");
      return escapeCodePoint(v);
    }
    let digits = first;
    if (/[0-9]/.test(next)) {
      digits += next;
      this.i++;
    }
    const n = Number(digits);
    if (n > this.groupCount) throw this.error(`invalid group reference ${n}`);
    if (this.openGroups.includes(n)) throw this.error("cannot refer to an open group");
    return `(?:\\${n})`;
  }

  private octal(first: string): number {
    let s = first;
    while (s.length < 3 && /[0-7]/.test(this.cps[this.i] ?? "")) s += this.cps[this.i++];
    return Number.parseInt(s, 8);
  }

  /** A character escape (also valid in classes); its code point. */
  private charEscape(c: string): number {
    if (c in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[c]!;
    const hexLen = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : 0;
    if (hexLen > 0) {
      const hex = this.cps.slice(this.i, this.i + hexLen).join("");
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) throw this.error(`incomplete escape \\${c}${hex}`);
      this.i += hexLen;
      const v = Number.parseInt(hex, 16);
      if (v > 0x10ffff) throw this.error(`bad escape \\${c}${hex}`);
      return v;
    }
    if (c === "N") throw this.error("\\N{...} named characters are not supported");
    if (/[A-Za-z]/.test(c)) throw this.error(`bad escape \\${c}`);
    return c.codePointAt(0)!;
  }

  private charClass(flags: Flags): string {
    const start = this.i - 1;
    let negate = false;
    if (this.cps[this.i] === "^") {
      negate = true;
      this.i++;
    }
    const items: string[] = [];
    let hasI = false;
    let first = true;
    for (;;) {
      const c = this.cps[this.i];
      if (c === undefined) {
        this.i = start;
        throw this.error("unterminated character set");
      }
      this.i++;
      if (c === "]" && !first) break;
      first = false;
      let lo: number;
      if (c === "\\") {
        const e = this.cps[this.i++];
        if (e === undefined) throw this.error("bad escape (end of pattern)");
        if ("dswDSW".includes(e)) {
          const content = classContent(e.toLowerCase(), flags);
          items.push(e === e.toLowerCase() ? content : `[^${content}]`);
          if (this.cps[this.i] === "-" && this.cps[this.i + 1] !== "]") throw this.error("bad character range");
          continue;
        }
        if (e === "b") lo = 8;
        else if (/[0-7]/.test(e)) lo = this.octal(e);
        else if (/[0-9]/.test(e) || "ABZ".includes(e)) throw this.error(`bad escape \\${e}`);
        else lo = this.charEscape(e);
      } else {
        lo = c.codePointAt(0)!;
      }
      let hi = lo;
      if (this.cps[this.i] === "-" && this.cps[this.i + 1] !== undefined && this.cps[this.i + 1] !== "]") {
        this.i++;
        const d = this.cps[this.i++]!;
        if (d === "\\") {
          const e = this.cps[this.i++];
          if (e === undefined) throw this.error("bad escape (end of pattern)");
          if ("dswDSW".includes(e)) throw this.error("bad character range");
          if (e === "b") hi = 8;
          else if (/[0-7]/.test(e)) hi = this.octal(e);
          else if (/[0-9]/.test(e) || "ABZ".includes(e)) throw this.error(`bad escape \\${e}`);
          else hi = this.charEscape(e);
        } else {
          hi = d.codePointAt(0)!;
        }
        if (hi < lo) throw this.error("bad character range");
      }
      if ((lo <= 0x49 && hi >= 0x49) || (lo <= 0x69 && hi >= 0x69)) hasI = true;
      items.push(lo === hi ? escapeCodePoint(lo) : `${escapeCodePoint(lo)}-${escapeCodePoint(hi)}`);
    }
    // Python's case-insensitive i/I also match İ (its lower case is i) and ı (listed with i).
    if (flags.i && hasI) items.push(TURKISH_I);
    return `[${negate ? "^" : ""}${items.join("")}]`;
  }
}

function classContent(c: string, flags: Flags): string {
  const k = CLASSES[c]!;
  return flags.a ? k.ascii : k.unicode;
}

function literal(c: string, flags: Flags): string {
  if (flags.i && (c === "i" || c === "I")) return `[iI${TURKISH_I}]`;
  return /^[\p{L}\p{N}_ ]$/u.test(c) ? c : escapeCodePoint(c.codePointAt(0)!);
}

function escapeCodePoint(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}
