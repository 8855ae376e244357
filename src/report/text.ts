/** Text for HTML element content and attribute values (double-quoted). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON to put inside `<script type="application/json">`: `<`, `>` and `&` become `\u003c`, ... so
 * no text in the data (a generation holding `</script>` or `<!--`) can end or reinterpret the
 * block; U+2028/U+2029 are escaped too. JSON.parse reads it back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * A long text shortened for the page: the head and, larger, the tail (where the answer is), with
 * a line saying how much was cut. Reasoning of 131K-token models would otherwise make the page
 * hundreds of MB.
 */
export function clipText(s: string, limit: number): string {
  if (limit <= 0 || s.length <= limit) return s;
  const head = Math.floor(limit / 4);
  const tail = limit - head;
  const clipped = `${s.slice(0, head)}\n\n[... ${s.length - limit} characters cut from the report ...]\n\n${s.slice(s.length - tail)}`;
  // A fresh copy: V8's slices keep the whole original alive, and thousands of them would hold
  // every full generation in memory while the page is built.
  return Buffer.from(clipped, "utf8").toString("utf8");
}

/** A value shown as an answer: strings as they are, other JSON values as JSON, null/undefined as null. */
export function answerText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** 0-1 fraction as a percentage with `digits` decimals. */
export function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)}%`;
}
