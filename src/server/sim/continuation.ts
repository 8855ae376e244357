/**
 * A continuation (`continue_final_message`) of the simulator's own text: the final assistant
 * message must be exactly what the simulator would have produced up to some token, and the
 * answer is then the rest of its text. A text it did not produce is refused, so a client
 * that sends anything but the exact prefix fails loudly (tests then demand byte equality).
 *
 * With the "field" reasoning mode the message is read as a client puts parsed reasoning back:
 * `<think>` + thinking, then `</think>` + answer once the answer began (the tags count no
 * tokens here, as the simulator's usage never counted them).
 */
import type { ComposedText } from "./compose-answer.js";
import { allTokens, type ReasoningMode } from "./generation.js";

/** Tokens of the simulator's text that `prefix` is, or undefined when it is not a prefix at a token boundary. */
export function prefixTokens(text: ComposedText, mode: ReasoningMode, prefix: string): number | undefined {
  const { reasoning, content } = allTokens(text, mode);
  let pos = 0;
  let n = 0;
  const eat = (piece: string): boolean => {
    if (!prefix.startsWith(piece, pos)) return false;
    pos += piece.length;
    return true;
  };
  if (mode === "field") {
    if (!eat("<think>")) return undefined;
    for (const t of reasoning) {
      if (pos === prefix.length) return n;
      if (!eat(t)) return undefined;
      n++;
    }
    if (pos === prefix.length) return n;
    if (!eat("</think>")) return undefined;
  }
  for (const t of content) {
    if (pos === prefix.length) return n;
    if (!eat(t)) return undefined;
    n++;
  }
  return pos === prefix.length ? n : undefined;
}
