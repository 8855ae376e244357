import http from "node:http";
import { netDispatcher } from "./net-dispatcher.js";
import { proxyFor, readProxyEnv } from "./proxy-env.js";
import { loadUndici } from "./undici.js";

export type GetTextOptions = {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** ms to wait for the answer's head, and between two pieces of its body. */
  timeoutMs: number;
};

/**
 * GET a small text resource (a server's /models or /health). A plain-http URL no proxy applies
 * to goes through node:http, so a run against a local server never loads undici (see
 * undici.ts); https and proxied URLs go through the process's dispatcher (netDispatcher).
 */
export async function getText(url: string, opts: GetTextOptions): Promise<{ statusCode: number; text: string }> {
  const target = new URL(url);
  if (target.protocol === "http:" && !proxyFor(target, readProxyEnv())) return nodeGet(target, opts);
  const { request } = await loadUndici();
  const res = await request(target, {
    headers: opts.headers,
    signal: opts.signal,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    dispatcher: await netDispatcher(),
  });
  return { statusCode: res.statusCode, text: await res.body.text() };
}

function nodeGet(target: URL, opts: GetTextOptions): Promise<{ statusCode: number; text: string }> {
  return new Promise((resolve, reject) => {
    // No keep-alive: one request, and no socket left open to hold the process.
    const req = http.get(target, { headers: opts.headers, signal: opts.signal, timeout: opts.timeoutMs, agent: false });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.on("response", (res) => {
      res.setEncoding("utf8");
      let text = "";
      res.on("data", (s: string) => {
        text += s;
      });
      res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
  });
}
