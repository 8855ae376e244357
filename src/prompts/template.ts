import { ErrorCodes, VlmError } from "../errors.js";
import { pyStr } from "./py-str.js";

type Segment = { text: string } | { field: string };

/**
 * A `{field}` template compiled once: `{{`/`}}` are literal braces, anything else in braces
 * names a row field. Filling it with a row that lacks a field throws MISSING_FIELD. A value that
 * is not a string is written as Python's str() writes it (None, True, ['a', 'b']), as
 * NeMo-Skills' str.format does.
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
      const v = values[s.field];
      if (v === undefined) {
        throw new VlmError(
          ErrorCodes.MISSING_FIELD,
          `the prompt needs field "${s.field}" but ${what} has none (fields: ${Object.keys(values).join(", ") || "none"})`,
        );
      }
      out += pyStr(v);
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
      const name = end < 0 ? "" : src.slice(i + 1, end).trim();
      if (!/^[A-Za-z_][\w.-]*$/.test(name)) {
        throw new VlmError(
          ErrorCodes.PROMPT_CONFIG,
          `bad placeholder at offset ${i} in template: write {field} for a row field and {{ }} for literal braces`,
        );
      }
      if (text) segs.push({ text });
      text = "";
      segs.push({ field: name });
      i = end;
    } else if (ch === "}") {
      throw new VlmError(ErrorCodes.PROMPT_CONFIG, `lone "}" at offset ${i} in template: write }} for a literal brace`);
    } else text += ch;
  }
  if (text) segs.push({ text });
  return segs;
}
