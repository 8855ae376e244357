import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createClient } from "../../src/client/create-client.js";
import { createBodyEncoder, FIRST_WRITE } from "../../src/client/request-body.js";
import type { ChatRequest } from "../../src/client/types.js";
import { ServerSchema } from "../../src/config/generation-config.js";

const image = `data:image/png;base64,${Buffer.alloc(60_000, 7).toString("base64")}`;
const bytes = (b: string | Buffer | (string | Buffer)[]) =>
  typeof b === "string"
    ? b
    : Buffer.concat([b].flat().map((x) => (typeof x === "string" ? Buffer.from(x) : x))).toString();

describe("the request body encoder", () => {
  it("sends exactly the bytes JSON.stringify would, with images spliced in", () => {
    const enc = createBodyEncoder();
    const requests: ChatRequest[] = [
      { model: "m", messages: [{ role: "user", content: 'plain "text" \u2028' }] },
      {
        model: "m",
        messages: [
          { role: "system", content: "s" },
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: image } },
              { type: "text", text: 'q "x"' },
              { type: "image_url", image_url: { url: image, detail: "high" } },
            ],
          },
        ],
        stream: true,
      },
      // Not a base64 data URL: left to JSON.stringify, escapes and all.
      { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `${image}"\\` } }] }] },
      // Each kind of character that is not its own JSON byte: escaped, control, DEL, non-ASCII,
      // a lone surrogate; and one long URL that is (not base64, spliced as it is).
      ...['"', "\\", "\n", "\u0000", "\u001f", "\u007f", "\u00e9", "\u2028", "\ud83d", "\ud83d\ude00", "-_~%20"].map(
        (c): ChatRequest => ({
          model: "m",
          messages: [
            { role: "user", content: [{ type: "image_url", image_url: { url: `${image.slice(0, 30_000)}${c}x` } }] },
          ],
        }),
      ),
    ];
    for (const r of requests) {
      const { body, length } = enc.encode(r);
      expect(bytes(body)).toBe(JSON.stringify(r));
      expect(length).toBe(Buffer.byteLength(JSON.stringify(r)));
    }
    expect(Array.isArray(enc.encode(requests[1]!).body)).toBe(true);
    // Without images the body is the JSON text itself, written with the request's head.
    expect(enc.encode(requests[0]!).body).toBe(JSON.stringify(requests[0]));
  });

  it("puts at least FIRST_WRITE bytes in the first piece and shares the rest of the image", () => {
    const enc = createBodyEncoder();
    const big = `data:image/png;base64,${Buffer.alloc(300_000, 3).toString("base64")}`;
    const r: ChatRequest = {
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: big } },
            { type: "text", text: "q" },
          ],
        },
      ],
    };
    const a = enc.encode(r).body as Buffer[];
    const b = enc.encode(r).body as Buffer[];
    expect(bytes(a)).toBe(JSON.stringify(r));
    expect(a[0]!.length).toBe(FIRST_WRITE);
    // The image's remainder is a view of the one cached literal, not a copy per request.
    expect(a[1]!.length).toBeGreaterThan(300_000);
    expect(a[1]!.buffer).toBe(b[1]!.buffer);
    expect(a[0]!.buffer).not.toBe(b[0]!.buffer);
    // A body that fits in the first write goes as one buffer.
    const small = `data:image/png;base64,${Buffer.alloc(20_000, 3).toString("base64")}`;
    const s: ChatRequest = {
      model: "m",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: small } }] }],
    };
    const one = enc.encode(s);
    expect(Buffer.isBuffer(one.body)).toBe(true);
    expect(bytes(one.body)).toBe(JSON.stringify(s));
    expect(one.length).toBe(Buffer.byteLength(JSON.stringify(s)));
  });

  it("with no first write asked for, sends the image as the cached literal itself, nothing copied", () => {
    const enc = createBodyEncoder(undefined, 0);
    const big = `data:image/png;base64,${Buffer.alloc(100_000, 5).toString("base64")}`;
    const r: ChatRequest = {
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: big } },
            { type: "text", text: "q" },
          ],
        },
      ],
    };
    const a = enc.encode(r);
    const b = enc.encode(r);
    expect(bytes(a.body)).toBe(JSON.stringify(r));
    expect(a.length).toBe(Buffer.byteLength(JSON.stringify(r)));
    const [pa, pb] = [a.body as (string | Buffer)[], b.body as (string | Buffer)[]];
    expect(pa).toHaveLength(3);
    expect(pa[1]).toBe(pb[1]);
    expect(pa[1]!.length).toBe(big.length + 2);
    // The JSON text around the image stays text: no Buffer is made of it.
    expect([typeof pa[0], typeof pa[2]]).toEqual(["string", "string"]);
  });

  it("keeps working when its cache is smaller than one image", () => {
    const enc = createBodyEncoder(1000);
    const r: ChatRequest = {
      model: "m",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }] }],
    };
    expect(bytes(enc.encode(r).body)).toBe(JSON.stringify(r));
    expect(bytes(enc.encode(r).body)).toBe(JSON.stringify(r));
  });

  it("delivers a body with images whole to a server, with its content-length", async () => {
    let received = "";
    let contentLength = "";
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received = Buffer.concat(chunks).toString();
        contentLength = String(req.headers["content-length"]);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ message: { content: "Answer: A" }, finish_reason: "stop" }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const client = createClient({
      baseUrl: url,
      concurrency: 2,
      timeoutSeconds: 30,
      server: ServerSchema.parse({ stream: false }),
    });
    const request: ChatRequest = {
      model: "m",
      messages: [
        {
          role: "user",
          // Text that is not ASCII on both sides of the image: content-length counts bytes.
          content: [
            { type: "text", text: "¿qué muestra? 図を見て" },
            { type: "image_url", image_url: { url: image } },
            { type: "text", text: "q — é" },
          ],
        },
      ],
    };
    try {
      const r = await client.chat(request);
      expect(r.content).toBe("Answer: A");
      expect(received).toBe(JSON.stringify(request));
      expect(Number(contentLength)).toBe(Buffer.byteLength(received));
    } finally {
      await client.close();
      server.close();
    }
  });
});
