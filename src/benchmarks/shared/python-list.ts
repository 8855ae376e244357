/**
 * MMMU stores `options` (and `img_type`) as the Python repr of a list of strings, e.g.
 * `['$2^{10}$', "it's 5", 'a\\nb']`; NeMo-Skills reads it with `ast.literal_eval`. This is
 * that subset of Python literals: a list of str (single or double quoted, with Python's
 * escapes, adjacent literals joined) and the odd bare number/None/True/False, which are
 * kept as the text `str()` would give them. Anything else is an error, never a guess.
 */

export function parsePythonStringList(text: string): string[] {
  const p = new Parser(text);
  p.ws();
  p.expect("[");
  const items: string[] = [];
  p.ws();
  if (p.peek() === "]") {
    p.pos++;
  } else {
    for (;;) {
      items.push(p.item());
      p.ws();
      const c = p.next();
      if (c === "]") break;
      if (c !== ",") p.fail(`expected ',' or ']'`);
      p.ws();
      // Python allows a trailing comma.
      if (p.peek() === "]") {
        p.pos++;
        break;
      }
    }
  }
  p.ws();
  if (p.pos !== text.length) p.fail("trailing characters after the list");
  return items;
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
  "\n": "", // backslash-newline continues the line
};

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  peek(): string | undefined {
    return this.text[this.pos];
  }

  next(): string | undefined {
    return this.text[this.pos++];
  }

  ws(): void {
    while (/\s/.test(this.text[this.pos] ?? "")) this.pos++;
  }

  expect(c: string): void {
    if (this.next() !== c) this.fail(`expected '${c}'`);
  }

  fail(why: string): never {
    const at = Math.max(0, this.pos - 1);
    throw new SyntaxError(`not a Python list of strings (${why} at ${at}): ${this.text.slice(0, 80)}`);
  }

  item(): string {
    const c = this.peek();
    if (c === "'" || c === '"') {
      let s = this.string();
      // 'a' 'b' is one literal in Python.
      for (;;) {
        const save = this.pos;
        this.ws();
        const q = this.peek();
        if (q !== "'" && q !== '"') {
          this.pos = save;
          return s;
        }
        s += this.string();
      }
    }
    const m = /^(-?\d+(\.\d*)?([eE][-+]?\d+)?|None|True|False)/.exec(this.text.slice(this.pos));
    if (!m) this.fail("expected a string");
    this.pos += m[0].length;
    return m[0];
  }

  string(): string {
    const quote = this.next();
    let out = "";
    for (;;) {
      const c = this.next();
      if (c === undefined || c === "\n") this.fail("unterminated string");
      if (c === quote) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.next();
      if (e === undefined) this.fail("unterminated string");
      if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
      else if (e === "x") out += this.codePoint(2);
      else if (e === "u") out += this.codePoint(4);
      else if (e === "U") out += this.codePoint(8);
      else if (/[0-7]/.test(e)) {
        let oct = e;
        while (oct.length < 3 && /[0-7]/.test(this.peek() ?? "")) oct += this.next();
        out += String.fromCodePoint(parseInt(oct, 8));
      } else out += `\\${e}`; // unknown escapes stay as written, as in Python
    }
  }

  codePoint(digits: number): string {
    const hex = this.text.slice(this.pos, this.pos + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) this.fail("bad escape");
    this.pos += digits;
    return String.fromCodePoint(parseInt(hex, 16));
  }
}
