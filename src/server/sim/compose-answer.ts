/**
 * What the simulator "generates": a deterministic letter and a short text around it.
 * The letter is right with probability `accuracy`, drawn from (seed option, question key,
 * sampling salt), so greedy runs repeat exactly and different sampling seeds differ.
 * The text's length depends on the question only, so token statistics are non-trivial.
 */

import { type BookEntry, letterRange, lettersInText } from "./answer-book.js";
import { hash32, prng, unit } from "./hash.js";

export type AnswerChoice = {
  /** The option letter, or an open question's answer text. */
  letter: string;
  /** An open question: the reply is the answer text alone, as short-answer prompts ask. */
  open?: boolean;
  /** Undefined when the question is not in the book. */
  correct?: boolean;
  /** What the text's length and wording hash. */
  key: string;
};

/** What the draws hash: the book row's key, or the request text's hash for unknown questions. */
export function questionKey(entry: BookEntry | undefined, text: string): string {
  return entry?.key ?? `text:${hash32(text)}`;
}

export function chooseAnswer(args: {
  text: string;
  entry: BookEntry | undefined;
  accuracy: number;
  seed: number;
  /** "" for greedy; the request seed or a per-question counter when sampling. */
  salt: string;
}): AnswerChoice {
  const { entry, seed, salt } = args;
  if (entry === undefined) {
    const key = questionKey(undefined, args.text);
    const letters = letterRange(lettersInText(args.text) || 4);
    return { letter: letters[Math.floor(unit(seed, "guess", key, salt) * letters.length)]!, key };
  }
  if (unit(seed, "correct", entry.key, salt) < args.accuracy) {
    return { letter: entry.expected, correct: true, key: entry.key, ...(entry.open ? { open: true } : {}) };
  }
  // A wrong open answer shares no character with any answer, so every scorer marks it wrong
  // (relaxed accuracy, ANLS 0, no MMMU number or substring match).
  if (entry.open) return { letter: "#".repeat(entry.expected.length + 3), correct: false, key: entry.key, open: true };
  const others = entry.letters.filter((l) => l !== entry.expected);
  if (others.length === 0) return { letter: entry.expected, correct: true, key: entry.key };
  const letter = others[Math.floor(unit(seed, "wrong", entry.key, salt) * others.length)]!;
  return { letter, correct: false, key: entry.key };
}

const SENTENCES = [
  "the figure shows the relevant quantities clearly.",
  "each option can be checked against the details given.",
  "the question asks for the single best choice.",
  "some options can be ruled out quickly.",
  "the remaining candidates differ in one key detail.",
  "comparing them with the image settles the matter.",
  "the labels in the picture support this reading.",
  "the wording of the question points the same way.",
  "a careful look at the scale removes the last doubt.",
  "nothing in the image contradicts this conclusion.",
].map((s) => s.split(" "));

const THOUGHTS = [
  "I should check each option against the image.",
  "The details in the picture matter here.",
  "Two options look close, so I compare them carefully.",
  "The question wording rules out the extreme choices.",
].map((s) => s.split(" "));

const OPENING = "Looking at the image and the options,".split(" ");
const THINKING_OPENING = "Let me work through this question step by step.".split(" ");

/**
 * Tokens of sentences drawn from `pool` until at least `minWords`, built directly as
 * pieces (each word with the space before it) so no text is ever re-split.
 */
function sentencePieces(rand: () => number, pool: readonly string[][], minWords: number, opening: string[]): string[] {
  const out = opening.map((w, i) => (i === 0 ? w : ` ${w}`));
  while (out.length < minWords) {
    const words = pool[Math.floor(rand() * pool.length)]!;
    const afterStop = out[out.length - 1]!.endsWith(".");
    words.forEach((w, i) => out.push(i === 0 && afterStop ? ` ${w.charAt(0).toUpperCase()}${w.slice(1)}` : ` ${w}`));
  }
  return out;
}

/** Text as tokens: "a b\nc" is ["a", " b", "\nc"]; any prefix joins into a clean prefix. */
export type ComposedText = { thinking: readonly string[]; answer: readonly string[] };

const CACHE_MAX = 10_000;
const cache = new Map<string, { thinking: string[]; body: string[] }>();

/**
 * The thinking (used by the reasoning modes) and the visible answer, ending `Answer: X` (open: the
 * answer alone). `answerTokens` > 0: exactly that many tokens of answer (and of thinking).
 */
export function composeText(choice: AnswerChoice, seed: number, answerTokens = 0): ComposedText {
  const cacheKey = `${seed}\u0001${choice.key}\u0001${answerTokens}`;
  let base = cache.get(cacheKey);
  if (base === undefined) {
    const h = hash32(choice.key, seed);
    const rand = prng(h);
    // 20..120 words in all, the last line's two included.
    const words = answerTokens > 0 ? Math.max(1, answerTokens - 2) : 20 + (h % 101) - 2;
    const thoughts = answerTokens > 0 ? answerTokens : 8 + (h % 23);
    let body = sentencePieces(rand, SENTENCES, words, OPENING);
    let thinking = sentencePieces(rand, THOUGHTS, thoughts, THINKING_OPENING);
    if (answerTokens > 0) {
      body = body.slice(0, words);
      thinking = thinking.slice(0, thoughts);
    }
    base = { thinking, body };
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, base);
  }
  if (choice.open) return { thinking: base.thinking, answer: choice.letter.split(/(?= )/) };
  return { thinking: base.thinking, answer: [...base.body, "\nAnswer:", ` ${choice.letter}`] };
}
