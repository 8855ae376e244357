import { from, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { runFeedback } from "../../src/operators/run-feedback.js";
import type { Sample } from "../../src/types.js";

const ok = (index: number): Sample => ({ index, row: {}, out: { generation: "A" } });
const failed = (index: number): Sample => ({
  index,
  row: {},
  out: {},
  error: { stage: "generate", code: "VLM_E_CONNECTION", message: "refused" },
});

/** Runs rows through runFeedback. */
async function feed(rows: Sample[], maxFailures: number) {
  let successes = 0;
  const stop = new AbortController();
  const logs: string[] = [];
  const op = runFeedback({ limit: { succeeded: () => successes++ }, maxFailures, stop, log: (l) => logs.push(l) });
  const seen = await lastValueFrom(from(rows).pipe(op, toArray()));
  return { seen, successes, stop, logs };
}

describe("runFeedback", () => {
  it("passes rows through unchanged and tells the limit of each success", async () => {
    const rows = [ok(0), failed(1), ok(2)];
    const r = await feed(rows, 100);
    expect(r.seen).toEqual(rows);
    expect(r.successes).toBe(2);
    expect(r.stop.signal.aborted).toBe(false);
  });

  it("stops the run once, at the max_failures-th failed row in a row, as that row passes", async () => {
    const stop = new AbortController();
    const logs: string[] = [];
    const op = runFeedback({ limit: { succeeded: () => undefined }, maxFailures: 3, stop, log: (l) => logs.push(l) });
    const aborted: boolean[] = [];
    await new Promise<void>((resolve) => {
      from([failed(0), ok(1), failed(2), failed(3), failed(4), failed(5)])
        .pipe(op)
        .subscribe({ next: () => aborted.push(stop.signal.aborted), complete: resolve });
    });
    expect(aborted).toEqual([false, false, false, false, true, true]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/3 rows failed in a row \(last: refused\); stopping/);
  });

  it("never stops with max_failures 0", async () => {
    const r = await feed([failed(0), failed(1), failed(2)], 0);
    expect(r.stop.signal.aborted).toBe(false);
    expect(r.logs).toEqual([]);
  });
});
