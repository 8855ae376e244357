import { describe, expect, it } from "vitest";
import { createBodyParser } from "../../src/server/sim/parse-body.js";

const url = `data:image/png;base64,${Buffer.alloc(30_000, 3).toString("base64")}`;
const other = `data:image/png;base64,${Buffer.alloc(30_000, 4).toString("base64")}`;
/** A body as it may arrive: in socket-sized chunks. */
const chunks = (text: string) => {
  const b = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 16_384) out.push(b.subarray(i, i + 16_384));
  return out;
};
const outcome = (f: () => unknown) => {
  try {
    return { value: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

describe("the simulator's body parser", () => {
  it("gives what JSON.parse gives, values and error messages alike, on the first and later requests", () => {
    const parse = createBodyParser();
    const bodies = [
      JSON.stringify({
        model: "m",
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url } },
              { type: "text", text: 'a "url":"data: b' },
              { type: "image_url", image_url: { url: other } },
            ],
          },
        ],
      }),
      JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: [{ type: "text", text: `{"url":"data:${"A".repeat(5000)}"}` }] }],
      }),
      JSON.stringify({ model: "m", extra: { url }, messages: [{ role: "user", content: "x" }] }),
      JSON.stringify({
        messages: [{ content: [{ image_url: { url: `${url.slice(0, 99)}\u0001${url.slice(99)}` } }] }],
      }).replace("\\u0001", "\u0001"),
      JSON.stringify({ messages: [{ content: [{ image_url: { url: `${url.slice(0, 99)}\\${url.slice(99)}` } }] }] }),
      `{"messages":[{"content":[{"image_url":{"url":"${url}"}}]}],}`,
      "{not json",
    ];
    for (let pass = 0; pass < 2; pass++) {
      for (const b of bodies) expect(outcome(() => parse(chunks(b)))).toEqual(outcome(() => JSON.parse(b)));
    }
  });
});
