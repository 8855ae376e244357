import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { answerLetter, post, userText } from "./sim-helpers.js";

const ROWS = [
  { id: "q0", problem: "What is the value of the red bar in the chart of jar sales?", expected_answer: "45" },
  {
    id: "q1",
    problem: "Which planet is shown in the middle of the picture?",
    expected_answer: "['Mars', 'the red planet']",
  },
];

/** The shipped judge prompt's user message (prompts/judge/open-answer.yaml). */
const judgePrompt = (problem: string, reference: string, candidate: string) =>
  `Question:\n${problem}\n\nReference answer:\n${reference}\n\nCandidate answer:\n${candidate}\n\n` +
  'Does the candidate\'s final answer mean the same as the reference answer? Explain in one sentence, then end with a line "Judgement: Yes" or "Judgement: No".';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ answer_rows: ROWS, accuracy: 1 });
});
afterAll(() => sim.close());

async function content(s: SimServer, body: unknown): Promise<string> {
  const r = await post(s.url, body);
  expect(r.status, r.text).toBe(200);
  return JSON.parse(r.text).choices[0].message.content as string;
}

const judgement = (text: string) => /\nJudgement: (Yes|No)$/.exec(text)?.[1];

describe("sim-server judge mode", () => {
  it("answers a request for a Judgement: Yes/No line with one sentence and the comparison's verdict", async () => {
    const cases: [string, string, string, string][] = [
      [ROWS[0]!.problem, "45", "45", "Yes"],
      [ROWS[0]!.problem, "45", "The bar reaches 45.\nAnswer: 45.", "Yes"],
      [ROWS[0]!.problem, "45", "#####", "No"],
      [ROWS[0]!.problem, "45", "Looking at the chart, it is 45 or so.\nAnswer: 46", "No"],
      [ROWS[1]!.problem, "['Mars', 'the red planet']", "**The Red Planet**", "Yes"],
      [ROWS[1]!.problem, "['Mars', 'the red planet']", "Venus", "No"],
      ["Which option fits?\nA) one\nB) two", "B", "Some reasoning.\nAnswer: B", "Yes"],
    ];
    for (const [problem, reference, candidate, want] of cases) {
      const text = await content(sim, userText(judgePrompt(problem, reference, candidate), { temperature: 0 }));
      expect(text.split("\n")).toHaveLength(2);
      expect(judgement(text), `${reference} vs ${candidate}`).toBe(want);
    }
  });

  it("leaves other requests to the answer book, and gives no verdict without both answers", async () => {
    // The question itself, and a system message asking for the verdict line: benchmark answers.
    expect(await content(sim, userText(`Answer briefly.\n\n${ROWS[0]!.problem}`, { temperature: 0 }))).toBe("45");
    const system = {
      model: "sim",
      temperature: 0,
      messages: [
        { role: "system", content: 'End with "Judgement: Yes" or "Judgement: No".' },
        { role: "user", content: ROWS[0]!.problem },
      ],
    };
    expect(await content(sim, system)).toBe("45");
    const noCandidate = await content(
      sim,
      userText(
        `Question:\n${ROWS[0]!.problem}\n\nReference answer:\n45\n\nEnd with "Judgement: Yes" or "Judgement: No".`,
      ),
    );
    expect(noCandidate).toMatch(/found no Reference answer: and Candidate answer: sections/);
    expect(noCandidate).not.toMatch(/Judgement/);
    // A multiple-choice question with no judge request still ends with its letter.
    expect(answerLetter(await content(sim, userText("Which option fits?\nA) one\nB) two\nC) three")))).toMatch(
      /^[A-C]$/,
    );
  });

  it("flips verdicts with probability 1 - judge_accuracy, seeded and reproducible", async () => {
    const prompts = Array.from({ length: 200 }, (_, i) => judgePrompt(`Question ${i}?`, String(i), String(i)));
    const verdicts = async (seed: number) => {
      const s = await startSimServer({ judge_accuracy: 0.7, seed });
      try {
        const out: string[] = [];
        for (const p of prompts) out.push(judgement(await content(s, userText(p, { temperature: 0 })))!);
        return out;
      } finally {
        await s.close();
      }
    };
    const a = await verdicts(1);
    const yes = a.filter((v) => v === "Yes").length;
    expect(yes).toBeGreaterThan(120);
    expect(yes).toBeLessThan(165);
    expect(await verdicts(1)).toEqual(a);
    expect(await verdicts(2)).not.toEqual(a);
  });
});
