import { lastValueFrom, of, Subject, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { concurrentMap } from "../../src/operators/concurrent-map.js";
import type { Sample } from "../../src/types.js";

const sample = (index: number): Sample => ({ index, row: {}, out: {} });

describe("concurrentMap", () => {
  it("keeps at most `limit` calls in flight and records a thrown error on its row", async () => {
    let active = 0;
    let most = 0;
    const out = await lastValueFrom(
      of(...Array.from({ length: 20 }, (_, i) => sample(i))).pipe(
        concurrentMap(
          async (s) => {
            most = Math.max(most, ++active);
            await new Promise((r) => setTimeout(r, 1));
            active--;
            if (s.index === 3) throw new Error("boom");
            return { ...s, out: { ok: true } };
          },
          { stage: "test", limit: 4 },
        ),
        toArray(),
      ),
    );
    expect(most).toBe(4);
    expect(out).toHaveLength(20);
    expect(out.find((s) => s.index === 3)?.error).toMatchObject({
      stage: "test",
      code: "VLM_E_INTERNAL",
      message: "boom",
    });
  });

  it("passes on a result known at once (`now`) without a call, and calls for the others", async () => {
    const called: number[] = [];
    const out = await lastValueFrom(
      of(...Array.from({ length: 6 }, (_, i) => sample(i))).pipe(
        concurrentMap(
          async (s) => {
            called.push(s.index);
            return { ...s, out: { by: "call" } };
          },
          { stage: "test", limit: 2, now: (s) => (s.index % 2 === 0 ? { ...s, out: { by: "now" } } : undefined) },
        ),
        toArray(),
      ),
    );
    expect(called).toEqual([1, 3, 5]);
    expect(Object.fromEntries(out.map((s) => [s.index, s.out.by]))).toEqual({
      0: "now",
      1: "call",
      2: "now",
      3: "call",
      4: "now",
      5: "call",
    });
  });

  it("after a graceful stop starts no call: queued rows are dropped, calls in flight finish", async () => {
    const stop = new AbortController();
    const called: number[] = [];
    const out = await lastValueFrom(
      of(...Array.from({ length: 10 }, (_, i) => sample(i))).pipe(
        concurrentMap(
          async (s) => {
            called.push(s.index);
            await new Promise((r) => setTimeout(r, 1));
            if (s.index === 2) stop.abort();
            return { ...s, out: { ok: true } };
          },
          { stage: "test", limit: 2, stop: stop.signal },
        ),
        toArray(),
      ),
    );
    // Rows 0 and 1 start; 1 or 0 finishing starts 2 and then 3; 2 stops the run; 3 was in flight.
    expect(called).toEqual([0, 1, 2, 3]);
    expect(out.map((s) => s.index).sort()).toEqual([0, 1, 2, 3]);
    expect(out.every((s) => s.out.ok)).toBe(true);
  });

  it("aborts the calls in flight when the subscriber goes away, and only then", async () => {
    const signals: AbortSignal[] = [];
    const rows = new Subject<Sample>();
    const done: Sample[] = [];
    const sub = rows
      .pipe(
        concurrentMap(
          (s, signal) => {
            signals.push(signal);
            if (s.index === 0) return Promise.resolve(s);
            return new Promise<Sample>((_, reject) =>
              signal.addEventListener("abort", () => reject(new Error("aborted"))),
            );
          },
          { stage: "test", limit: 20 },
        ),
      )
      .subscribe((s) => done.push(s));
    rows.next(sample(0));
    await new Promise((r) => setTimeout(r, 5));
    expect(done.map((s) => s.index)).toEqual([0]);
    expect(signals[0]?.aborted).toBe(false);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    // Many calls listening on the signal: no leak warning.
    for (let i = 1; i <= 15; i++) rows.next(sample(i));
    sub.unsubscribe();
    await new Promise((r) => setTimeout(r, 5));
    process.off("warning", onWarning);
    expect(signals.slice(1).every((s) => s.aborted)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it("does not abort anything when the stream just completes", async () => {
    const signals: AbortSignal[] = [];
    await lastValueFrom(
      of(sample(0), sample(1)).pipe(
        concurrentMap(
          async (s, signal) => {
            signals.push(signal);
            return s;
          },
          { stage: "test", limit: 2 },
        ),
        toArray(),
      ),
    );
    expect(signals.every((s) => !s.aborted)).toBe(true);
  });
});
