/**
 * The answer text of a short-answer generation (ChartQA, DocVQA). Their authors score the
 * model's whole reply, which the short-answer prompt keeps to a word or phrase; models that
 * reason first end with an answer line, so that line is taken when there is one:
 *
 *   1. the last line's `The final answer is X` (NeMo-Skills' answer sentence), else
 *   2. the text after the last `Answer:` (any case, markdown `**` allowed), to the end of its line, else
 *   3. the whole reply;
 *
 * then trimmed (markdown emphasis closing the line dropped). Null when nothing is left.
 */
const FINAL_ANSWER_RE = /The final answer is ([^\n]+?)\s*$/;
const ANSWER_LINE_RE = /(?:^|[^\p{L}])answer[*_]{0,2}\s*:[*_]{0,2}[ \t]*([^\n]*)/giu;

export function extractShortAnswer(generation: string): string | null {
  const trimmed = generation.trim();
  const lastLine = trimmed.slice(trimmed.lastIndexOf("\n") + 1);
  let text = FINAL_ANSWER_RE.exec(lastLine)?.[1];
  if (text === undefined) {
    let last: string | undefined;
    ANSWER_LINE_RE.lastIndex = 0;
    for (let m = ANSWER_LINE_RE.exec(trimmed); m !== null; m = ANSWER_LINE_RE.exec(trimmed)) last = m[1];
    text = last ?? trimmed;
  }
  const answer = text.trim().replace(/[*_]+$/, "").trim();
  return answer === "" ? null : answer;
}
