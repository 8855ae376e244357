import { ErrorCodes, VlmError } from "../errors.js";
import { pyRepr, pyStr } from "./py-str.js";

type Segment = { text: string } | { field: string; repr: boolean };

/**
 * A `{field}` template compiled once, with Python's str.format rules for what NeMo-Skills'
 * `template.format(**row)` can fill: `{{`/`}}` are literal braces, and `{name}` names a row field
 * exactly as written (spaces and all, as a keyword argument is looked up), optionally with `!s`,
 * `!r` or an empty format spec (`{name:}`). Filling it with a row that lacks a field throws
 * MISSING_FIELD. A value that is not a string is written as Python's str() writes it (None, True,
 * ['a', 'b']). What str.format(**row) cannot fill (`{}`, `{0}`) or what vlmpipe does not do
 * (attribute and index access `{a.b}` `{a[0]}`, `!a`, format specs `{x:>5}`) is refused when the
 * template is compiled, never rendered otherwise than Python would.
 */
export class Template {
  readonly fields: string[];
  private readonly segments: Segment[];

  constructor(readonly source: string) {
    this.segments = compile(source);
    this.fields = this.segments.flatMap((s) => ("field" in s ? [s.field] : []));
  }

  fill(values: Record<string, unknown>, what = "row"): string {
    let out = "";
    for (const s of this.segments) {
      if ("text" in s) {
        out += s.text;
        continue;
      }
      const v = Object.hasOwn(values, s.field) ? values[s.field] : undefined;
      if (v === undefined) {
        throw new VlmError(
          ErrorCodes.MISSING_FIELD,
          `the prompt needs field "${s.field}" but ${what} has none (fields: ${Object.keys(values).join(", ") || "none"})`,
        );
      }
      out += s.repr ? pyRepr(v) : pyStr(v);
    }
    return out;
  }
}

function compile(src: string): Segment[] {
  const segs: Segment[] = [];
  let text = "";
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === "{" && src[i + 1] === "{") {
      text += "{";
      i++;
    } else if (ch === "}" && src[i + 1] === "}") {
      text += "}";
      i++;
    } else if (ch === "{") {
      const end = src.indexOf("}", i);
      if (end < 0) throw bad(`"{" at offset ${i} has no closing "}": write {{ for a literal brace`);
      if (text) segs.push({ text });
      text = "";
      segs.push(placeholder(src.slice(i + 1, end), i));
      i = end;
    } else if (ch === "}") {
      throw bad(`lone "}" at offset ${i} in template: write }} for a literal brace`);
    } else text += ch;
  }
  if (text) segs.push({ text });
  return segs;
}

/** `{inner}` at `offset`: a row field, as Python's str.format(**row) reads the placeholder. */
function placeholder(inner: string, offset: number): Segment {
  const at = `{${inner}} at offset ${offset}`;
  if (inner.includes("{")) throw bad(`"{" inside ${at}: write {{ for a literal brace`);
  // Python's field name ends at the first ".", "[", "!" or ":".
  const m = /^([^.[!:]*)(.*)$/s.exec(inner) as RegExpExecArray;
  const name = m[1] as string;
  let rest = m[2] as string;
  if (name === "" || /^\d+$/.test(name)) {
    throw bad(`${at} is a positional placeholder, which a row cannot fill: name a row field, e.g. {problem}`);
  }
  if (rest.startsWith(".") || rest.startsWith("[")) {
    throw bad(`${at}: attribute and index access are not supported: name a row field as it is`);
  }
  let repr = false;
  if (rest.startsWith("!")) {
    const conv = rest.slice(1, 2);
    if (conv !== "s" && conv !== "r") throw bad(`${at}: only the conversions !s and !r are supported`);
    repr = conv === "r";
    rest = rest.slice(2);
    if (rest !== "" && !rest.startsWith(":")) throw bad(`${at}: expected ":" or "}" after the conversion`);
  }
  if (rest !== "" && rest !== ":") throw bad(`${at}: format specs are not supported: write {${name}}`);
  return { field: name, repr };
}

function bad(message: string): VlmError {
  return new VlmError(ErrorCodes.PROMPT_CONFIG, message);
}
