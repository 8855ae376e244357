/**
 * The few node:http helpers the simulator needs. Plain node:http, no framework: the
 * simulator is benchmarked at concurrency 512 and must cost less than the client under test.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCodes, VlmError } from "../../errors.js";

/**
 * The raw body as the chunks the socket delivered: joining and decoding them is the parser's
 * business (see parse-body.ts, which joins them into a reused buffer).
 */
export function readBody(req: IncomingMessage): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      ended = true;
      resolve(chunks);
    });
    req.on("error", reject);
    // A client that gives up mid-body never sends `end`.
    req.on("close", () => {
      if (!ended) reject(new VlmError(ErrorCodes.ABORTED, "client closed the request"));
    });
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * Timers that `close()` can cut short: a stalled stream or a long latency must not keep
 * a closing server (or a test run) waiting.
 */
export class Sleeper {
  private readonly pending = new Set<() => void>();
  private stopped = false;

  sleep(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending.add(done);
    });
  }

  stopAll(): void {
    this.stopped = true;
    for (const done of [...this.pending]) done();
  }
}
