/**
 * The JSON text each input row was read from, kept beside the row object rather than on it:
 * rows belong to the caller, and a row replaced by a copy (`{ ...s.row, x }`) then simply has
 * no text, instead of a stale one. Output lines repeat the text instead of serialising the row
 * again: a text row's line costs ~2 us less (a tenth of its formatting and write), and the
 * input's fields come out as they went in (integers beyond 2^53, number formats, escapes,
 * spacing). Rows are never modified in place (see Sample), so the text stays true to the row.
 */
const texts = new WeakMap<object, string>();

/**
 * Longer texts are not kept: a row in flight would hold its fields twice (a row of embedded
 * base64 images, at concurrency 512, hundreds of MB); those rows are serialised again.
 */
export const MAX_KEPT_TEXT = 256 * 1024;

/** Keeps `text` (what JSON.parse read `row` from, whitespace around it allowed) for `row`. */
export function keepRowText(row: object, text: string): void {
  if (text.length > MAX_KEPT_TEXT) return;
  let t = text;
  if (t.charCodeAt(0) !== 0x7b /* { */ || t.charCodeAt(t.length - 1) !== 0x7d /* } */) {
    t = t.trim();
    if (t.charCodeAt(0) !== 0x7b || t.charCodeAt(t.length - 1) !== 0x7d) return;
  }
  // An empty object's text may hold spaces (`{ }`); lines join on `{}` being two characters.
  for (const _ in row) {
    texts.set(row, t);
    return;
  }
}

/** The row as JSON: the text it was read from when kept, else JSON.stringify. */
export function rowJson(row: Record<string, unknown>): string {
  return texts.get(row) ?? JSON.stringify(row);
}
