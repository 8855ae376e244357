import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { loadPromptConfig, parsePromptConfig } from "../../src/prompts/load-prompt-config.js";
import { createRenderer } from "../../src/prompts/render.js";
import { Template } from "../../src/prompts/template.js";

const cfg = (yaml: string) => parsePromptConfig(yaml).config;

describe("prompt rendering", () => {
  it("renders the shipped mmmu-pro prompt with the image before the NeMo-Skills text", async () => {
    const { config } = await loadPromptConfig("vlm/mmmu-pro");
    const msgs = createRenderer(config)({ problem: "What is shown?\n\nA) x\nB) y", image_path: "images/1.png" }, 0);
    expect(msgs).toEqual([
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "images/1.png" } },
          {
            type: "text",
            text:
              "Answer the following multiple choice question. The last line of your response should be in the following format: " +
              "'Answer: A/B/C/D/E/F/G/H/I/J' (e.g. 'Answer: A').\n\nWhat is shown?\n\nA) x\nB) y",
          },
        ],
      },
    ]);
  });

  it("puts the image after the text with image_position after, and adds a system message", () => {
    const render = createRenderer(cfg("system: Be brief.\nuser: 'Q: {q}'\nimage_field: img\nimage_position: after\n"));
    expect(render({ q: "why", img: "a.png" }, 0)).toEqual([
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Q: why" },
          { type: "image_url", image_url: { url: "a.png" } },
        ],
      },
    ]);
  });

  it("sends plain string content when the row's image is null", () => {
    const render = createRenderer(cfg("user: '{q}'\nimage_field: img\n"));
    expect(render({ q: "hi", img: null }, 0)).toEqual([{ role: "user", content: "hi" }]);
  });

  it("fails a row that lacks the image field altogether, naming it", () => {
    const render = createRenderer(cfg("user: '{q}'\nimage_field: img\n"));
    expect(() => render({ q: "hi" }, 3)).toThrow(/row 3 has no field "img" \(the prompt config's image_field\)/);
  });

  it("takes several images from a list value or a list of fields, in order", () => {
    const r1 = createRenderer(cfg("user: '{q}'\nimage_field: imgs\n"));
    const c1 = r1({ q: "x", imgs: ["a.png", "b.png"] }, 0)[0]?.content;
    expect(c1).toHaveLength(3);
    const r2 = createRenderer(cfg("user: '{q}'\nimage_field: [i1, i2, i3]\n"));
    const c2 = r2({ q: "x", i1: "a.png", i3: "c.png", i2: null }, 0)[0]?.content as { image_url?: { url: string } }[];
    expect(c2.map((p) => p.image_url?.url)).toEqual(["a.png", "c.png", undefined]);
  });

  it("places each image at its <image N> marker in the text (interleaved)", async () => {
    const { config } = await loadPromptConfig("vlm/mmmu-pro-standard");
    const render = createRenderer({ ...config, user: "{problem}" });
    const msgs = render(
      {
        problem: "Compare <image 1> and <image 2>.\nA) <image 2> is larger\nB) same",
        image_1: "p1.png",
        image_2: "p2.png",
      },
      0,
    );
    expect(msgs[0]?.content).toEqual([
      { type: "text", text: "Compare " },
      { type: "image_url", image_url: { url: "p1.png" } },
      { type: "text", text: " and " },
      { type: "image_url", image_url: { url: "p2.png" } },
      { type: "text", text: ".\nA) <image 2> is larger\nB) same" },
    ]);
  });

  it("fails a row whose marker has no image, naming the field", () => {
    const render = createRenderer(cfg("user: '{q}'\nimage_position: markers\n"));
    expect(() => render({ q: "see <image 3>" }, 7)).toThrow(
      /row 7: the text refers to <image 3> but field "image_3" holds no image/,
    );
  });

  it("records an image field of the wrong type as VLM_E_PROMPT_CONFIG and a missing image as VLM_E_MISSING_FIELD (docs/errors.md)", () => {
    const codeOf = (yaml: string, row: Record<string, unknown>): unknown => {
      try {
        createRenderer(cfg(yaml))(row, 0);
      } catch (e) {
        return (e as { code?: unknown }).code;
      }
      return "rendered";
    };
    const listed = "user: '{q}'\nimage_field: img\n";
    expect(codeOf(listed, { q: "x", img: 5 })).toBe("VLM_E_PROMPT_CONFIG");
    expect(codeOf(listed, { q: "x", img: ["a.png", { path: "b.png" }] })).toBe("VLM_E_PROMPT_CONFIG");
    expect(codeOf(listed, { q: "x", img: ["a.png", ""] })).toBe("VLM_E_MISSING_FIELD");
    const markers = "user: '{q}'\nimage_position: markers\n";
    expect(codeOf(markers, { q: "see <image 1>", image_1: { bytes: "..." } })).toBe("VLM_E_PROMPT_CONFIG");
    expect(codeOf(markers, { q: "see <image 1>", image_1: null })).toBe("VLM_E_MISSING_FIELD");
  });

  it("names the missing placeholder field and the row", () => {
    const render = createRenderer(cfg("user: '{question} {choices}'\n"));
    expect(() => render({ question: "q" }, 4)).toThrow(/field "choices" but row 4 has none/);
  });

  it("keeps {{ and }} as literal braces and fills few-shot examples", () => {
    const render = createRenderer(
      cfg(
        'user: "{examples}Q: {q} {{json}}"\nexamples:\n  prefix: "Examples:\\n"\n  template: "Q: {q} A: {a}\\n"\n  suffix: "\\n"\n  items: [{q: "1+1", a: "2"}]\n',
      ),
    );
    expect(render({ q: "2+2" }, 0)).toEqual([{ role: "user", content: "Examples:\nQ: 1+1 A: 2\n\nQ: 2+2 {json}" }]);
  });

  it("fills the system message from the row and sends an empty one when it is set to '' (NeMo-Skills' Prompt.fill)", () => {
    const user = cfg("user: 'Q: {q}'\n");
    expect(createRenderer(user)({ q: "a" }, 0)).toEqual([{ role: "user", content: "Q: a" }]);
    expect(createRenderer(user, { systemMessage: "" })({ q: "a" }, 0)).toEqual([
      { role: "system", content: "" },
      { role: "user", content: "Q: a" },
    ]);
    expect(createRenderer(user, { systemMessage: "Row {id} uses {{braces}}" })({ q: "a", id: 7 }, 0)[0]).toEqual({
      role: "system",
      content: "Row 7 uses {braces}",
    });
    expect(createRenderer(cfg("system: ''\nuser: 'Q: {q}'\n"))({ q: "a" }, 0)).toHaveLength(2);
  });

  it("appends ++prompt_suffix to the filled text as it is, braces included (generate.py's fill_prompt)", () => {
    const render = createRenderer(cfg("user: 'Q: {q}'\nimage_field: img\n"), {
      promptSuffix: " Put the final answer in \\boxed{}. {{x}}",
    });
    expect(render({ q: "{a}", img: "i.png" }, 0)[0]!.content).toEqual([
      { type: "image_url", image_url: { url: "i.png" } },
      { type: "text", text: "Q: {a} Put the final answer in \\boxed{}. {{x}}" },
    ]);
  });

  it("writes non-string values as Python's str() does, and {examples} as '' without examples", () => {
    const render = createRenderer(cfg("user: '{examples}{n}|{f}|{t}|{z}|{l}|{d}'\n"));
    const row = { n: 3, f: 0.00001, t: true, z: null, l: ["a", "it's", 1.5], d: { k: false } };
    expect(render(row, 0)).toEqual([{ role: "user", content: `3|1e-05|True|None|['a', "it's", 1.5]|{'k': False}` }]);
    // Python's shortest digits, not a second rounding (toFixed made the tie ...9063).
    const floats = createRenderer(cfg("user: '{a}|{b}|{c}|{d}'\n"));
    expect(floats({ a: 1039666357341 + 29 / 32, b: -0, c: 1e16, d: 0.1 + 0.2 }, 0)[0]!.content).toBe(
      "1039666357341.9062|-0.0|1e+16|0.30000000000000004",
    );
    // The differences docs/prompts.md lists (Python: 2000.0|12345678901234567|0|{'b': 1, '2': 3}).
    const lost = JSON.parse('{"a": 2e3, "b": 12345678901234567, "c": -0, "d": {"b": 1, "2": 3}}');
    expect(floats(lost, 0)[0]!.content).toBe("2000|1.2345678901234568e+16|-0.0|{'2': 3, 'b': 1}");
    const none = createRenderer(
      cfg('user: "{examples}Q"\nexamples:\n  prefix: "P"\n  template: "{q}"\n  suffix: "S"\n  items: []\n'),
    );
    expect(none({}, 0)).toEqual([{ role: "user", content: "Q" }]);
  });

  it("rejects a config with an unknown key or a wrong type, listing known keys", () => {
    expect(() => parsePromptConfig("user: x\nimage_feild: img\n")).toThrow(
      /unknown key image_feild; known keys: system, user, image_field/,
    );
    expect(() => parsePromptConfig("user: x\nimage_position: middle\n")).toThrow(/image_position/);
    expect(() => new Template("a } b")).toThrow(/lone "}"/);
  });

  it("reads a placeholder as Python's str.format(**row) does: the name as written, !s, !r and an empty spec", () => {
    // The values Python gives: "{a b}|{ü}|{a-b}|{q!r}|{q!s}|{n:}".format(**row) and "{ q }".format(q=1) -> KeyError ' q '.
    const render = createRenderer(cfg("user: '{a b}|{ü}|{a-b}|{q!r}|{q!s}|{n:}|{l!r:}'\n"));
    const row = { "a b": 1, ü: 2, "a-b": 3, q: "it's", n: null, l: ["x"] };
    expect(render(row, 0)[0]!.content).toBe(`1|2|3|"it's"|it's|None|['x']`);
    expect(() => createRenderer(cfg("user: '{ q }'\n"))({ q: 1 }, 0)).toThrow(/field " q " but row 0 has none/);
    // Not an own field of the row: nothing inherited from Object.prototype fills it.
    expect(() => createRenderer(cfg("user: '{constructor}'\n"))({}, 0)).toThrow(/field "constructor"/);
  });

  it("refuses at load, naming the file and the template, a placeholder it would not render as Python does", () => {
    const cases: [string, RegExp][] = [
      ["user: 'Pick {options[0]}'", /bad\.yaml: user: \{options\[0\]\} at offset 5: attribute and index access/],
      ["user: '{row.problem}'", /user: \{row\.problem\} at offset 0: attribute and index access/],
      ["user: '{} and {0}'", /user: \{\} at offset 0 is a positional placeholder/],
      ["user: '{x:>5}'", /user: \{x:>5\} at offset 0: format specs are not supported/],
      ["user: '{x!a}'", /only the conversions !s and !r/],
      ["user: '{x!rr}'", /expected ":" or "\}" after the conversion/],
      ["user: 'a {x'", /user: "\{" at offset 2 has no closing/],
      ["user: '{a{b}'", /"\{" inside \{a\{b\}/],
      ["system: 'S {'\nuser: q", /bad\.yaml: system: /],
      ["user: q\nexamples: {template: '{a}}'}", /bad\.yaml: examples\.template: lone "\}"/],
      ["user: q\nimage_marker: '<img>'", /bad\.yaml: image_marker: "<img>" must contain \{n\}/],
    ];
    for (const [yaml, message] of cases) {
      let err: unknown;
      try {
        parsePromptConfig(`${yaml}\n`, "bad.yaml");
      } catch (e) {
        err = e;
      }
      expect(err, yaml).toBeInstanceOf(UsageError);
      expect((err as Error).message, yaml).toMatch(message);
    }
    // ++system_message is a template too, checked when the renderer is made.
    expect(() => createRenderer(cfg("user: q\n"), { systemMessage: "Row {id!x}" })).toThrow(
      /\+\+system_message: \{id!x\} at offset 4/,
    );
  });

  it("reports a prompt config name that does not exist", async () => {
    await expect(loadPromptConfig("vlm/nope")).rejects.toThrow(/prompt config not found: .*prompts\/vlm\/nope\.yaml/);
  });
});
