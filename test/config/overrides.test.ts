import { describe, expect, it } from "vitest";
import { parseGenerationConfig } from "../../src/config/generation-config.js";
import { deepMerge, parseOverrides, splitOverrides } from "../../src/config/overrides.js";
import { MAX_TIMER_SECONDS } from "../../src/util/timer-seconds.js";

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

  it("strips white space around unquoted values and list elements, as Hydra does; quoted ones keep theirs", () => {
    expect(
      parseOverrides([
        "++inference.stop=[</s>, <|im_end|> ,  x y ]",
        "++a=  spaced value  ",
        "++b=[' q ', \" r\"]",
        "++c=[ 1 , true, null ]",
      ]),
    ).toEqual({
      inference: { stop: ["</s>", "<|im_end|>", "x y"] },
      a: "spaced value",
      b: [" q ", " r"],
      c: [1, true, null],
    });
  });

  it("refuses __proto__, prototype and constructor as unknown keys, anywhere in the path, without touching Object.prototype", () => {
    for (const arg of [
      "++__proto__.x=1",
      "++inference.__proto__.temperature=5",
      "++inference.__proto__=1",
      "++constructor.prototype.y=1",
      "++image.prototype=1",
    ]) {
      expect(() => parseOverrides([arg]), arg).toThrow(/^unknown key \+\+/);
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).temperature).toBeUndefined();
    // A key that arrives as an own property (JSON: --overrides_json) stays a key and is refused as one.
    const merged = deepMerge({}, JSON.parse('{"__proto__": {"temperature": 5}}') as Record<string, unknown>);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(() => parseGenerationConfig(merged)).toThrow(/unknown key \+\+__proto__/);
  });

  it("accepts null for the keys NeMo-Skills declares Optional, meaning what None means there", () => {
    const cfg = parseGenerationConfig(
      parseOverrides([
        "++inference.timeout=null",
        "++inference.reasoning_effort=null",
        "++inference.stop=None",
        "++system_message=null",
        "++inference.tokens_to_generate=null",
      ]),
    );
    const defaults = parseGenerationConfig({});
    // No deadline: the longest wait a Node timer takes.
    expect(cfg.inference.timeout).toBe(MAX_TIMER_SECONDS);
    // Not set at all (nothing sent; the prompt config's own system message), as when not given.
    expect({ ...cfg.inference, timeout: defaults.inference.timeout }).toStrictEqual(defaults.inference);
    expect("stop" in cfg.inference || "reasoning_effort" in cfg.inference || "system_message" in cfg).toBe(false);
    expect(cfg).toStrictEqual({ ...defaults, inference: cfg.inference });
  });

  it("reads max_samples 0 or below as every row (NeMo-Skills: only > 0 limits)", () => {
    for (const v of ["0", "-1", "-7"])
      expect(parseGenerationConfig(parseOverrides([`++max_samples=${v}`])).max_samples).toBe(-1);
    expect(parseGenerationConfig(parseOverrides(["++max_samples=3"])).max_samples).toBe(3);
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

  it("refuses a backoff in ms longer than a Node timer can wait", () => {
    for (const key of ["server.backoff_ms", "server.max_backoff_ms"]) {
      expect(() => parseGenerationConfig(parseOverrides([`++${key}=1e10`]))).toThrow(
        new RegExp(`\\+\\+${key.replace(".", "\\.")}: at most 2147483000 ms`),
      );
    }
    expect(parseGenerationConfig(parseOverrides(["++server.max_backoff_ms=2147483000"])).server.max_backoff_ms).toBe(
      2147483000,
    );
  });

  it("rejects something that is not key=value", () => {
    expect(() => parseOverrides(["++inference.temperature"])).toThrow(/expected \+\+key=value/);
  });

  it("splits ++ arguments from the flags commander parses", () => {
    expect(splitOverrides(["--model", "m", "++a=1"])).toEqual({ overrides: ["++a=1"], rest: ["--model", "m"] });
  });
});
