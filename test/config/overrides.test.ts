import { describe, expect, it } from "vitest";
import { parseGenerationConfig } from "../../src/config/generation-config.js";
import { parseOverrides, splitOverrides } from "../../src/config/overrides.js";

describe("++ overrides", () => {
  it("parses the seed's overrides into a nested, validated config", () => {
    const cfg = parseGenerationConfig(
      parseOverrides(["++inference.temperature=0", "++inference.tokens_to_generate=16384"]),
    );
    expect(cfg.inference.temperature).toBe(0);
    expect(cfg.inference.tokens_to_generate).toBe(16384);
    expect(cfg.inference.top_p).toBe(0.95);
    expect(cfg.inference.random_seed).toBe(0);
  });

  it("parses booleans, null, lists and quoted strings as Hydra does", () => {
    expect(
      parseOverrides([
        "++parse_reasoning=True",
        "++a.b=null",
        "++inference.stop=['</s>',\"x,y\"]",
        "++s='0'",
        "++inference.extra_body.chat_template_kwargs.enable_thinking=false",
      ]),
    ).toEqual({
      parse_reasoning: true,
      a: { b: null },
      inference: { stop: ["</s>", "x,y"], extra_body: { chat_template_kwargs: { enable_thinking: false } } },
      s: "0",
    });
  });

  it("rejects an unknown key and lists the known ones at that level", () => {
    expect(() => parseGenerationConfig(parseOverrides(["++inference.temprature=0"]))).toThrow(
      /unknown key \+\+inference\.temprature; known keys of inference: temperature, top_p/,
    );
  });

  it("rejects a value of the wrong type, naming the key", () => {
    expect(() => parseGenerationConfig(parseOverrides(["++inference.top_p=2"]))).toThrow(/\+\+inference\.top_p/);
    expect(() => parseGenerationConfig(parseOverrides(["++max_samples=many"]))).toThrow(/\+\+max_samples/);
  });

  it("refuses a timeout longer than a Node timer can wait, naming the key and the limit", () => {
    for (const key of ["inference.timeout", "server.idle_timeout", "server.timeout", "image.fetch_timeout"]) {
      expect(() => parseGenerationConfig(parseOverrides([`++${key}=2147484`]))).toThrow(
        new RegExp(`\\+\\+${key.replace(".", "\\.")}: at most 2147483 seconds`),
      );
    }
    expect(parseGenerationConfig(parseOverrides(["++inference.timeout=2147483"])).inference.timeout).toBe(2147483);
  });

  it("rejects something that is not key=value", () => {
    expect(() => parseOverrides(["++inference.temperature"])).toThrow(/expected \+\+key=value/);
  });

  it("splits ++ arguments from the flags commander parses", () => {
    expect(splitOverrides(["--model", "m", "++a=1"])).toEqual({ overrides: ["++a=1"], rest: ["--model", "m"] });
  });
});
