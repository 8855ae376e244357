import { firstValueFrom, from, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { parseReasoning } from "../../src/operators/parse-reasoning.js";
import type { Sample } from "../../src/types.js";

async function run(samples: Sample[], opts = {}): Promise<Sample[]> {
  return firstValueFrom(from(samples).pipe(parseReasoning(opts), toArray()));
}

const sample = (out: Record<string, unknown>, row: Record<string, unknown> = {}): Sample => ({ index: 0, row, out });

describe("parseReasoning", () => {
  it("keeps the text after the last end string, trimmed, and the full text apart", async () => {
    const [s] = await run([sample({ generation: "<think>a</think> draft </think>\n  Answer: B \n" })]);
    expect(s!.out.generation).toBe("Answer: B");
    expect(s!.out._full_generation).toBe("<think>a</think> draft </think>\n  Answer: B \n");
    expect(s!.out._generation_finished_thinking).toBe(true);
    expect(s!.out._unfinished_reasoning).toBeUndefined();
  });

  it("trims Python's white space (str.strip), not JavaScript's", async () => {
    // U+FEFF is no white space to Python; U+001C and U+0085 are, and JavaScript's trim keeps them.
    const [s] = await run([sample({ generation: "x</think>\ufeff B \x1c\u0085" })]);
    expect(s!.out.generation).toBe("\ufeff B");
  });

  it("empties the generation and flags it when the reasoning never ended", async () => {
    const [s] = await run([sample({ generation: "<think>still thinking about B" })]);
    expect(s!.out.generation).toBe("");
    expect(s!.out._unfinished_reasoning).toBe(true);
    expect(s!.out._generation_finished_thinking).toBe(false);
    expect(s!.out._full_generation).toBe("<think>still thinking about B");
  });

  it("clears an input row's _unfinished_reasoning when this generation finished thinking", async () => {
    // An earlier output as input: the row's flag would stay on the line (out goes over row) and
    // a re-score would then find no answer in a generation that has one.
    const row = { generation: "", _full_generation: "<think>cut", _unfinished_reasoning: true };
    const [s] = await run([sample({ generation: "<think>done</think>B" }, row)]);
    expect(s!.out.generation).toBe("B");
    expect({ ...s!.row, ...s!.out }._unfinished_reasoning).not.toBe(true);
  });

  it("uses a custom end string", async () => {
    const [s] = await run([sample({ generation: "hmm<|end_thinking|>C" })], { endReasoningString: "<|end_thinking|>" });
    expect(s!.out.generation).toBe("C");
  });

  it("reads the row's generation when re-scoring, but not a row parsed already", async () => {
    const [a, b] = await run([
      sample({}, { generation: "x</think>D" }),
      sample({}, { generation: "D", _full_generation: "x</think>D" }),
    ]);
    expect(a!.out.generation).toBe("D");
    expect(b!.out).toEqual({});
  });

  it("passes errored samples and samples without a string generation through untouched", async () => {
    const errored: Sample = {
      ...sample({ generation: "x" }),
      error: { stage: "generate", code: "VLM_E_HTTP", message: "500" },
    };
    const none = sample({ generation: null });
    const out = await run([errored, none]);
    expect(out[0]).toBe(errored);
    expect(out[1]).toBe(none);
  });
});
