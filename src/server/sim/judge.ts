/**
 * The simulator's judge mode: a request that asks for an LLM judge's verdict is answered as a
 * judge, not from the answer book.
 *
 * A request is a judge request when its last message is the user's and that message's text
 * holds both `Judgement: Yes` and `Judgement: No` (any case), the verdict line NeMo-Skills'
 * judge prompts and prompts/judge/open-answer.yaml ask for. The verdict compares two labelled
 * sections of that message, each starting a line: `Reference answer:` and `Candidate answer:`.
 * A section runs to the next `Question:`, `Reference answer:` or `Candidate answer:` line, or to
 * the paragraph that asks for the verdict (the message is cut at the blank line before its first
 * `Judgement: Yes|No`). The candidate's final answer is its section's last non-empty line, less a
 * leading `Answer:`. Both are normalised (`**` removed, white space folded, a trailing full stop
 * dropped, lower case) and compared for equality; a reference written as a list (`['24/7',
 * '3.429']`, MMMU's open answers) matches any of its items. The reply is one sentence, then
 * `Judgement: Yes` when they match, else `Judgement: No`; with `judge_accuracy` below 1 the
 * verdict is flipped with probability 1 - judge_accuracy, drawn from (seed, the message, salt).
 * Without both sections the reply says so and has no verdict.
 */
import type { ComposedText } from "./compose-answer.js";
import { hash32, unit } from "./hash.js";

export type JudgeCase = {
  /** What the draws hash: the judge message's hash. */
  key: string;
  /** Undefined when the message has no such section. */
  reference?: string;
  candidate?: string;
};

const ASKS_YES = /judgement:\s*yes/i;
const ASKS_NO = /judgement:\s*no/i;
const SECTION = /^[ \t]*(question|reference answer|candidate answer)[ \t]*:[ \t]*/gim;

/** The judge request in a last user message, or undefined when it asks for no `Judgement: Yes|No` line. */
export function readJudgeRequest(message: string): JudgeCase | undefined {
  const yes = ASKS_YES.exec(message);
  const no = ASKS_NO.exec(message);
  if (!yes || !no) return undefined;
  const ask = Math.min(yes.index, no.index);
  const blank = message.lastIndexOf("\n\n", ask);
  const material = blank < 0 ? message.slice(0, ask) : message.slice(0, blank);
  const labels = [...material.matchAll(SECTION)];
  const section = (name: string): string | undefined => {
    const i = labels.findIndex((m) => m[1]!.toLowerCase() === name);
    if (i < 0) return undefined;
    const m = labels[i]!;
    const end = labels[i + 1]?.index ?? material.length;
    return material.slice(m.index + m[0].length, end).trim();
  };
  return {
    key: `judge:${hash32(message)}`,
    reference: section("reference answer"),
    candidate: section("candidate answer"),
  };
}

function normalise(s: string): string {
  return s.replaceAll("**", "").replace(/\s+/g, " ").trim().replace(/\.$/, "").trim().toLowerCase();
}

/** The candidate's final answer: its last non-empty line, less a leading `Answer:`. */
export function finalAnswer(candidate: string): string {
  const last =
    candidate
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .at(-1) ?? "";
  return last.replace(/^\**answer\**\s*:\**\s*/i, "");
}

/** The reference's accepted answers: a Python or JSON list's items, else the text itself. */
function references(reference: string): string[] {
  const t = reference.trim();
  if (/^\[.*\]$/s.test(t)) {
    const items = [...t.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? m[2]!);
    if (items.length > 0) return items;
  }
  return [t];
}

export function answersMatch(reference: string, candidate: string): boolean {
  const cand = normalise(finalAnswer(candidate));
  return cand !== "" && references(reference).some((r) => normalise(r) === cand);
}

/** One sentence and the verdict line, as tokens (a word with the white space before it). */
export function composeJudgement(c: JudgeCase, args: { accuracy: number; seed: number; salt: string }): ComposedText {
  const thinking = "I compare the candidate's final answer with the reference answer.".split(/(?= )/);
  let text: string;
  if (c.reference === undefined || c.candidate === undefined) {
    text = "The simulator's judge mode found no Reference answer: and Candidate answer: sections to compare.";
  } else {
    let match = answersMatch(c.reference, c.candidate);
    if (unit(args.seed, "judge", c.key, args.salt) >= args.accuracy) match = !match;
    text = match
      ? "The candidate's final answer means the same as the reference answer.\nJudgement: Yes"
      : "The candidate's final answer does not mean the same as the reference answer.\nJudgement: No";
  }
  return { thinking, answer: text.split(/(?=[ \n])/) };
}
