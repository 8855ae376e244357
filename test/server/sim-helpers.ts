/** Client-side helpers for the simulator tests: plain undici, as a real client would do it. */

import sharp from "sharp";
import { request } from "undici";

export type Reply = { status: number; headers: Record<string, string | string[] | undefined>; text: string };

export async function post(base: string, body: unknown, path = "/v1/chat/completions"): Promise<Reply> {
  const res = await request(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export async function get(base: string, path: string): Promise<Reply> {
  const res = await request(`${base}${path}`);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** An SSE body -> the payload of each `data:` event, in order. */
export function sseData(text: string): string[] {
  const events = text.split("\n\n");
  if (events[events.length - 1] !== "")
    throw new Error(`stream does not end with a blank line: ${JSON.stringify(text.slice(-80))}`);
  return events.slice(0, -1).map((e) => {
    if (!e.startsWith("data: ")) throw new Error(`not a data event: ${e}`);
    return e.slice("data: ".length);
  });
}

export function userText(text: string, extra: Record<string, unknown> = {}) {
  return { model: "sim", messages: [{ role: "user", content: text }], ...extra };
}

export function withImages(urls: string[], text = "What is shown?", extra: Record<string, unknown> = {}) {
  return {
    model: "sim",
    messages: [
      {
        role: "user",
        content: [...urls.map((url) => ({ type: "image_url", image_url: { url } })), { type: "text", text }],
      },
    ],
    ...extra,
  };
}

export async function pngDataUrl(color = { r: 200, g: 30, b: 30 }): Promise<string> {
  const buf = await sharp({ create: { width: 8, height: 8, channels: 3, background: color } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${buf.toString("base64")}`;
}

/** The letter of the last `Answer: X` line. */
export function answerLetter(content: string): string | undefined {
  return /Answer: (\S+)\s*$/.exec(content)?.[1];
}

export const QUESTION = "Which planet is shown in the picture?\nA) Mars\nB) Venus\nC) Jupiter\nD) Saturn";
