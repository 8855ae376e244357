/**
 * An output line as Python's json.loads reads it. Python's json.dumps writes a non-finite float as a
 * bare `NaN`, `Infinity` or `-Infinity`, which json.loads accepts and JSON.parse does not; when
 * JSON.parse fails, the line is read again with those tokens, outside strings, as `null`. The
 * metrics never use a non-finite value (a null verdict, token count or time is one the line does not
 * have). Throws JSON.parse's error for a line that is not JSON either way.
 */
export function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    const relaxed = nonFiniteAsNull(line);
    if (relaxed === line) throw e;
    try {
      return JSON.parse(relaxed);
    } catch {
      throw e;
    }
  }
}

const NON_FINITE = ["-Infinity", "Infinity", "NaN"] as const;

function nonFiniteAsNull(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i = endOfString(text, i) - 1;
      continue;
    }
    if (c !== "-" && c !== "I" && c !== "N") continue;
    const token = NON_FINITE.find((t) => text.startsWith(t, i));
    if (token === undefined) continue;
    out += `${text.slice(from, i)}null`;
    i += token.length - 1;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * The text of a top-level member's value in a JSON object's text (the last one, as JSON.parse and
 * json.loads keep the last of repeated keys); undefined without it. The text must parse (see
 * parseJsonLine). Used where the parsed value loses what Python keeps: `1.0` is a float there.
 */
export function topLevelToken(text: string, key: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return undefined;
  let found: string | undefined;
  i = skipSpace(text, i + 1);
  while (text[i] === '"') {
    const keyEnd = endOfString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ":") return found;
    i = skipSpace(text, i + 1);
    const valueEnd = endOfValue(text, i);
    if (name === key) found = text.slice(i, valueEnd);
    i = skipSpace(text, valueEnd);
    if (text[i] !== ",") break;
    i = skipSpace(text, i + 1);
  }
  return found;
}

/** Index after the string that opens at `i` (a `"`). */
function endOfString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  return text.length;
}

function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = endOfString(text, j) - 1;
      else if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  let j = i;
  while (j < text.length && !",}] \t\n\r".includes(text[j]!)) j++;
  return j;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  return i;
}
