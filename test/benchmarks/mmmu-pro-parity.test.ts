import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { extractMultichoice } from "../../src/benchmarks/extractors/multichoice.js";
import { parseOfficial, parseOptionsList, rowRng } from "../../src/benchmarks/mmmu-pro/official-parser.js";

// GPT-4o's raw MMMU-Pro responses with the letters the authors' evaluate.py parsed (see the README there).
const DATA = path.resolve(import.meta.dirname, "../../../shared/data/mmmu-pro-gpt4o");

type Row = { id: string; options: string; answer: string; response: string; pred_indexs: string; if_right: boolean };

function load(file: string): Row[] {
  return readFileSync(path.join(DATA, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Row);
}

const CASES = [
  {
    file: "gpt-4o_vision_cot.jsonl",
    correct: 866,
    accuracy: "50.06",
    fallbackIds: ["validation_Accounting_5", "validation_Economics_29", "validation_Energy_and_Power_9"],
    // Observed, kept as regression values: rows where both extractors give a letter, those that
    // differ, rows where multichoice finds none, multichoice's correct rows. NeMo-Skills main's
    // order (the last capital of a longer boxed text before an `Answer:` line) gives one more
    // difference than the #1511 order did: test_Electronics_18, `V` where the official parser says `I`.
    extractors: { both: 1471, differ: 6, multichoiceNone: 259, multichoiceRight: 775 },
  },
  {
    file: "gpt-4o_standard-10-options_cot.jsonl",
    correct: 952,
    accuracy: "55.03",
    fallbackIds: [] as string[],
    extractors: { both: 1697, differ: 5, multichoiceNone: 33, multichoiceRight: 942 },
  },
];

describe.each(CASES)(
  "the official MMMU-Pro parser on $file",
  ({ file, correct, accuracy, fallbackIds, extractors }) => {
    const rows = load(file);

    it("parses every row's options", () => {
      expect(rows).toHaveLength(1730);
      for (const r of rows) {
        const options = parseOptionsList(r.options);
        expect(options, r.id).not.toBeNull();
        expect(options!.length, r.id).toBeGreaterThan(0);
      }
    });

    it("gives back pred_indexs on every row but the random-fallback ones, and the official accuracy", () => {
      const fallback: string[] = [];
      const mismatched: string[] = [];
      let right = 0;
      let officialRightOnFallback = 0;
      for (const r of rows) {
        const parsed = parseOfficial(r.response, parseOptionsList(r.options)!, rowRng(42, r.id));
        if (parsed.fallback) {
          fallback.push(r.id);
          if (r.if_right) officialRightOnFallback++;
          continue;
        }
        if (parsed.answer !== r.pred_indexs) mismatched.push(r.id);
        if (parsed.answer === r.answer) right++;
      }
      expect(mismatched).toEqual([]);
      expect(fallback.sort()).toEqual([...fallbackIds].sort());
      // Up to the fallback rows, whose random letter the official run drew its own way.
      expect(right + officialRightOnFallback).toBe(correct);
      expect(((100 * correct) / rows.length).toFixed(2)).toBe(accuracy);
    });

    it("draws the same fallback letter for a row whatever the order rows are processed in", () => {
      const once = rows.map((r) => parseOfficial(r.response, parseOptionsList(r.options)!, rowRng(42, r.id)).answer);
      const reversed = [...rows]
        .reverse()
        .map((r) => parseOfficial(r.response, parseOptionsList(r.options)!, rowRng(42, r.id)).answer);
      expect(reversed.reverse()).toEqual(once);
    });

    it("disagrees with NeMo-Skills' multichoice extractor on few rows where both find a letter", () => {
      let both = 0;
      let differ = 0;
      let mcNone = 0;
      let mcRight = 0;
      for (const r of rows) {
        const mc = extractMultichoice(r.response);
        const off = parseOfficial(r.response, parseOptionsList(r.options)!, rowRng(42, r.id)).answer;
        if (mc === r.answer) mcRight++;
        if (mc === null) {
          mcNone++;
          continue;
        }
        both++;
        if (mc !== off) differ++;
      }
      console.info(
        `${file}: multichoice vs official: ${differ}/${both} differ where both answer, multichoice finds no letter in ${mcNone}; multichoice correct ${mcRight}/1730`,
      );
      expect({ both, differ, multichoiceNone: mcNone, multichoiceRight: mcRight }).toEqual(extractors);
    });
  },
);
