/**
 * The answer text of a short-answer generation (ChartQA, DocVQA).
 *
 * `wholeReply` is their authors' way: the model's reply is the answer (the prompt asks for a word
 * or phrase), white space around it trimmed. Null when nothing is left.
 *
 * `answerLine` is a named opt-in (eval types `*-answer-line`) for models that reason before
 * answering: the last line's `The final answer is X` (NeMo-Skills' answer sentence), else the text
 * after the last `Answer:` (any case, markdown `**` allowed) to the end of its line, else the
 * whole reply.
 */
const FINAL_ANSWER_RE = /The final answer is ([^\n]+?)\s*$/;
const ANSWER_LINE_RE = /(?:^|[^\p{L}])answer[*_]{0,2}\s*:[*_]{0,2}[ \t]*([^\n]*)/giu;

export function wholeReply(generation: string): string | null {
  const answer = generation.trim();
  return answer === "" ? null : answer;
}

export function answerLine(generation: string): string | null {
  const trimmed = generation.trim();
  const lastLine = trimmed.slice(trimmed.lastIndexOf("\n") + 1);
  let text = FINAL_ANSWER_RE.exec(lastLine)?.[1];
  if (text === undefined) {
    let last: string | undefined;
    ANSWER_LINE_RE.lastIndex = 0;
    for (let m = ANSWER_LINE_RE.exec(trimmed); m !== null; m = ANSWER_LINE_RE.exec(trimmed)) last = m[1];
    text = last ?? trimmed;
  }
  const answer = text
    .trim()
    .replace(/[*_]+$/, "")
    .trim();
  return answer === "" ? null : answer;
}

export type ReadAnswer = (generation: string) => string | null;
