import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { png, tempDir } from "../helpers/dataset.js";

export const XSS = `</script><img src=x onerror="window.__xss=1"><script>window.__xss=2</script><!--`;

export type Line = Record<string, unknown>;

/**
 * A hand-made eval: `<root>/data/` (test.jsonl + images) and `<root>/results/bench/` with one
 * output file per run and a spec pointing at the data file. Rows: subjects Math (4) and
 * `Art <b>` (2), an XSS generation, a failed row, a disagreement, a fallback, reasoning.
 */
export async function makeBenchmark(opts: { seeds?: number; extraLines?: (run: number) => Line[] } = {}) {
  const root = await tempDir("vlmpipe-report-");
  const data = path.join(root, "data");
  await mkdir(path.join(data, "images"), { recursive: true });
  await writeFile(path.join(data, "images", "a.png"), await png(600, 400, "#cc3333"));
  await writeFile(path.join(data, "images", "b.png"), await png(40, 40, "#33aa55"));
  const base: Line[] = [
    {
      id: "m1",
      subset_for_metrics: "Math",
      problem: "What is 1+1?\n\nA) 2\nB) 3",
      image_path: "images/a.png",
      expected_answer: "A",
    },
    {
      id: "m2",
      subset_for_metrics: "Math",
      problem: "Pick <image 1> or <image 2>",
      image_1: "images/a.png",
      image_2: "images/b.png",
      expected_answer: "B",
    },
    {
      id: "m3",
      subset_for_metrics: "Math",
      problem: "Missing image",
      image_path: "images/missing.png",
      expected_answer: "C",
    },
    { id: "m4", subset_for_metrics: "Math", problem: "No image here", expected_answer: "D" },
    {
      id: "x1",
      subset_for_metrics: "Art <b>",
      problem: "Art question",
      image_path: "images/b.png",
      expected_answer: "A",
    },
    { id: "x2", subset_for_metrics: "Art <b>", problem: "Another", expected_answer: "B" },
  ];
  await writeFile(path.join(data, "test.jsonl"), base.map((r) => JSON.stringify(r)).join("\n") + "\n");

  const bench = path.join(root, "results", "bench");
  await mkdir(bench, { recursive: true });
  const seeds = opts.seeds ?? 0;
  const names = seeds === 0 ? ["output.jsonl"] : Array.from({ length: seeds }, (_, s) => `output-rs${s}.jsonl`);
  const files: Line[][] = [];
  for (const [run, name] of names.entries()) {
    const out: Line[] = [
      answered(base[0]!, "A", { reasoning_content: "Let me think: 1+1 is 2.", num_generated_tokens: 10 }),
      answered(base[1]!, run === 0 ? "A" : "B", { generation: XSS, num_generated_tokens: 20 }),
      answered(base[2]!, "A", {
        predicted_answer_multichoice: "A",
        predicted_answer_official: "B",
        num_generated_tokens: 30,
      }),
      {
        ...base[3],
        generation: "",
        error: { stage: "generate", code: "VLM_E_HTTP", message: "HTTP 400: bad <request>" },
      },
      answered(base[4]!, null, { num_generated_tokens: 40, finish_reason: "length" }),
      answered(base[5]!, "C", {
        official_random_fallback: true,
        predicted_answer_official: "C",
        predicted_answer_multichoice: null,
        num_generated_tokens: 50,
      }),
      ...(opts.extraLines?.(run) ?? []),
    ];
    files.push(out);
    const file = path.join(bench, name);
    await writeFile(file, out.map((l) => JSON.stringify(l)).join("\n") + "\n");
    await writeFile(
      `${file}.spec.json`,
      JSON.stringify({ model: "test-model", input_file: path.join(data, "test.jsonl"), inference: { temperature: 0 } }),
    );
  }
  return { root, data, bench, files, base };
}

function answered(row: Line, answer: string | null, extra: Line): Line {
  return {
    ...row,
    generation: `Reasoning...\nAnswer: ${answer ?? "?"}`,
    finish_reason: "stop",
    predicted_answer: answer,
    symbolic_correct: answer === row.expected_answer,
    ...extra,
  };
}
