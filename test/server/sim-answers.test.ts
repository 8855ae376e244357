import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAnswerBook, lettersInText } from "../../src/server/sim/answer-book.js";
import { startSimServer } from "../../src/server/sim/sim-server.js";
import { answerLetter, post, userText } from "./sim-helpers.js";

const LETTERS = ["A", "B", "C", "D", "E"];

/** 300 distinct five-option questions, expected answers spread over the letters. */
const ROWS = Array.from({ length: 300 }, (_, i) => ({
  id: `test_${i}`,
  problem: `Question ${i}: how many marbles are in jar number ${i} of the picture?\n${LETTERS.map((l, k) => `${l}) ${i + k}`).join("\n")}`,
  expected_answer: LETTERS[(i * 7) % 5]!,
}));

/** The prompt a template might build around a problem: glued prefix and suffix included. */
const prompt = (problem: string) =>
  `Answer the following multiple choice question.\n\nQuestion:${problem}\nThink step by step, then finish with "Answer: X".`;

async function runAll(seed: number, accuracy: number): Promise<string[]> {
  const sim = await startSimServer({ answer_rows: ROWS, accuracy, seed });
  try {
    const letters: string[] = [];
    for (let i = 0; i < ROWS.length; i += 25) {
      const batch = ROWS.slice(i, i + 25).map(async (row) => {
        const r = await post(sim.url, userText(prompt(row.problem), { temperature: 0 }));
        return answerLetter(JSON.parse(r.text).choices[0].message.content)!;
      });
      letters.push(...(await Promise.all(batch)));
    }
    return letters;
  } finally {
    await sim.close();
  }
}

describe("sim-server answers", () => {
  it("is right about `accuracy` of the time, and repeats exactly on an identical run", async () => {
    const first = await runAll(0, 0.7);
    const correct = first.filter((l, i) => l === ROWS[i]!.expected_answer).length / ROWS.length;
    // 4 standard deviations of a binomial(300, 0.7): 4 * sqrt(0.21 / 300) = 0.106.
    expect(Math.abs(correct - 0.7)).toBeLessThan(0.106);
    for (const l of first) expect(LETTERS).toContain(l);
    expect(await runAll(0, 0.7)).toEqual(first);
    const otherSeed = await runAll(1, 0.7);
    expect(otherSeed).not.toEqual(first);
  });

  it("answers every recognised question right with accuracy 1 and never with accuracy 0", async () => {
    const sample = ROWS.slice(0, 40);
    for (const [accuracy, expectRight] of [
      [1, true],
      [0, false],
    ] as const) {
      const sim = await startSimServer({ answer_rows: sample, accuracy });
      try {
        for (const row of sample) {
          const r = JSON.parse((await post(sim.url, userText(prompt(row.problem)))).text);
          expect(answerLetter(r.choices[0].message.content) === row.expected_answer).toBe(expectRight);
        }
      } finally {
        await sim.close();
      }
    }
  });

  it("repeats greedy answers, and sampling seeds change them deterministically", async () => {
    const sim = await startSimServer({ answer_rows: ROWS, accuracy: 0.5 });
    try {
      const ask = async (row: (typeof ROWS)[number], extra: Record<string, unknown>) =>
        answerLetter(
          JSON.parse((await post(sim.url, userText(prompt(row.problem), extra))).text).choices[0].message.content,
        );
      const rows = ROWS.slice(0, 20);
      const greedy = [];
      for (const row of rows) greedy.push(await ask(row, { temperature: 0, seed: 5 }));
      for (const [i, row] of rows.entries()) expect(await ask(row, { temperature: 0, seed: 9 })).toBe(greedy[i]);
      const seeded = async (seed: number) => {
        const out = [];
        for (const row of rows) out.push(await ask(row, { temperature: 0.7, seed }));
        return out;
      };
      const s1 = await seeded(1);
      expect(await seeded(1)).toEqual(s1);
      expect(await seeded(2)).not.toEqual(s1);
    } finally {
      await sim.close();
    }
  });

  it("varies the answer length with the question", async () => {
    const sim = await startSimServer({ answer_rows: ROWS });
    try {
      const lengths = new Set<number>();
      for (const row of ROWS.slice(0, 20)) {
        lengths.add(JSON.parse((await post(sim.url, userText(prompt(row.problem)))).text).usage.completion_tokens);
      }
      expect(lengths.size).toBeGreaterThan(5);
      for (const n of lengths) expect(n).toBeGreaterThanOrEqual(20);
    } finally {
      await sim.close();
    }
  });

  it("reads an answers JSONL file and recognises a question by id when its text is absent", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-answers-"));
    try {
      const file = join(dir, "answers.jsonl");
      await writeFile(
        file,
        `${JSON.stringify({ id: "validation_Art_12", expected_answer: "F", options: "['a', 'b', 'c', 'd', 'e', 'f', 'g']" })}\n\n`,
      );
      const sim = await startSimServer({ answers: file });
      try {
        const r = await post(sim.url, userText("Item validation_Art_12. Look at the image and pick an option."));
        expect(answerLetter(JSON.parse(r.text).choices[0].message.content)).toBe("F");
      } finally {
        await sim.close();
      }
      await writeFile(file, `${JSON.stringify({ id: "x", expected_answer: "A" })}\n{oops\n`);
      await expect(startSimServer({ answers: file })).rejects.toThrow(/line 2 is not JSON/);
      await writeFile(file, `${JSON.stringify({ expected_answer: "A" })}\n`);
      await expect(startSimServer({ answers: file })).rejects.toThrow(/line 1: .*`problem` or `id`/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives an unknown question a letter from the options it shows", async () => {
    const sim = await startSimServer({ answer_rows: ROWS.slice(0, 3) });
    try {
      const text = "Pick one.\n(A) red\n(B) green";
      const letters = new Set<string>();
      for (let seed = 0; seed < 12; seed++) {
        const r = JSON.parse((await post(sim.url, userText(text, { temperature: 1, seed }))).text);
        letters.add(answerLetter(r.choices[0].message.content)!);
      }
      expect([...letters].sort()).toEqual(["A", "B"]);
    } finally {
      await sim.close();
    }
  });
});

describe("answer book lookup", () => {
  it("finds problems glued into templates, prefers the longest match, and falls back to ids", () => {
    const book = createAnswerBook([
      { id: "p1", problem: "What is the colour of the sky in the image?", expected_answer: "A" },
      { id: "p2", problem: "What is the colour of the sky in the image? Consider the sunset.", expected_answer: "B" },
      { id: "short", problem: "Name it", expected_answer: "C" },
      { id: "id-only_7", expected_answer: "D" },
    ]);
    expect(book.find("Q:What is the colour of the sky in the image?!")?.id).toBe("p1");
    expect(book.find("What is the colour of the sky in the image? Consider the sunset.")?.id).toBe("p2");
    expect(book.find("Please: Name it.")?.id).toBe("short");
    expect(book.find("row id-only_7.")?.id).toBe("id-only_7");
    expect(book.find("row id-only_70")).toBeUndefined();
    expect(book.find("nothing known")).toBeUndefined();
  });

  it("counts option letters from A) lines", () => {
    expect(lettersInText("Q?\nA) x\nB) y\nC) z")).toBe(3);
    expect(lettersInText("Q?\n(A) x\n(B) y")).toBe(2);
    expect(lettersInText("no options")).toBe(0);
  });
});

describe("answer book index", () => {
  it("tells apart problems that share their opening words", () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({
      id: `r${i}`,
      problem: `<image 1> Which of the following best describes item ${i} in the chart?`,
      expected_answer: "A",
    }));
    const book = createAnswerBook(rows);
    for (const i of [0, 7, 123, 499]) {
      expect(book.find(`Look.\n${rows[i]!.problem}\nAnswer with a letter.`)?.id).toBe(`r${i}`);
    }
  });
});

describe("the answer book with interleaved images", () => {
  it("recognises a question whose <image N> markers were replaced by image parts", () => {
    const book = createAnswerBook([
      {
        id: "s1",
        problem: "Compare <image 1> and <image 2>. Which is larger?\n\nA) <image 1>\nB) <image 2>\nC) same",
        expected_answer: "C",
      },
    ]);
    const text = ["Answer this.\n\nCompare ", " and ", ". Which is larger?\n\nA) ", "\nB) ", "\nC) same"].join("");
    expect(book.find(text)?.expected).toBe("C");
    expect(book.find(text)?.letters).toEqual(["A", "B", "C"]);
  });
});

describe("sim-server open answers", () => {
  const OPEN = [
    {
      id: "o1",
      problem: "What is the value of the tallest bar in the chart of sales?",
      expected_answer: "45",
      answers: ["45"],
    },
    {
      id: "o2",
      problem: "Which city is named in the letterhead of the memo?",
      expected_answer: "Paris",
      question_type: "open",
    },
    {
      id: "o3",
      problem: "Give the ratio written under the second figure panel.",
      expected_answer: "['24/7', '3.429']",
      question_type: "open",
    },
    { id: "o4", problem: "What is written in the date field of this form?", expected_answer: null, answers: [] },
  ];

  it("answers an open question with the expected text alone when right, and with text sharing no character when wrong", async () => {
    for (const [accuracy, right] of [
      [1, true],
      [0, false],
    ] as const) {
      const sim = await startSimServer({ answer_rows: OPEN, accuracy, seed: 0 });
      try {
        const said: string[] = [];
        for (const row of OPEN.slice(0, 3)) {
          const r = await post(
            sim.url,
            userText(`${row.problem}\nAnswer the question using a single word or phrase.`, { temperature: 0 }),
          );
          said.push(JSON.parse(r.text).choices[0].message.content as string);
        }
        if (right) expect(said).toEqual(["45", "Paris", "24/7"]);
        else expect(said).toEqual(["#####", "########", "#######"]);
      } finally {
        await sim.close();
      }
    }
  });

  it("keeps a row without an expected answer out of the book", () => {
    expect(createAnswerBook(OPEN).size).toBe(3);
  });
});
