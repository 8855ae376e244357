import { describe, expect, it } from "vitest";
import { withRetry } from "../../src/client/retry.js";
import type { ChatRequest } from "../../src/client/types.js";
import { ErrorCodes, VlmError } from "../../src/errors.js";

const req: ChatRequest = { model: "m", messages: [{ role: "user", content: "Q?" }] };

/** A one-attempt client whose every call fails with a retryable 503; counts calls. */
function failing() {
  let calls = 0;
  const inner = {
    chat: async () => {
      calls++;
      throw new VlmError(ErrorCodes.HTTP, "HTTP 503: queue full", { retryable: true, status: 503 });
    },
    close: async () => {},
  };
  return { inner, calls: () => calls };
}

describe("retries after the run's graceful stop", () => {
  it("start no new attempt once it fired: the row fails with the server's last answer", async () => {
    const f = failing();
    const stop = new AbortController();
    const c = withRetry(f.inner, { maxRetries: 6, backoffMs: 1, maxBackoffMs: 1, random: () => 0 });
    stop.abort();
    const err = (await c.chat(req, { stop: stop.signal }).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: ErrorCodes.HTTP, status: 503, attempts: 1 });
    expect(f.calls()).toBe(1);
  });

  it("end a backoff wait in progress the same way", async () => {
    const f = failing();
    const stop = new AbortController();
    const c = withRetry(f.inner, {
      maxRetries: 6,
      backoffMs: 60_000,
      maxBackoffMs: 60_000,
      random: () => 1,
      // The stop comes while the first backoff (a minute) is under way.
      onRetry: () => setTimeout(() => stop.abort(), 10),
    });
    const err = (await c.chat(req, { stop: stop.signal }).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ code: ErrorCodes.HTTP, status: 503, attempts: 1 });
    expect(f.calls()).toBe(1);
  });

  it("without a stop, retry as before", async () => {
    const f = failing();
    const c = withRetry(f.inner, { maxRetries: 2, backoffMs: 1, maxBackoffMs: 1, random: () => 0 });
    const err = (await c.chat(req).catch((e: unknown) => e)) as VlmError;
    expect(err).toMatchObject({ attempts: 3 });
    expect(f.calls()).toBe(3);
  });
});
