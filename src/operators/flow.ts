import { type MonoTypeOperatorFunction, tap } from "rxjs";

/**
 * Pull-based flow control. RxJS has no backpressure: mergeMap over its concurrency buffers
 * its source without limit. So the source (readRows) takes a permit before it emits a row,
 * and the end of the chain gives it back: at most `window` rows are in the pipeline at once,
 * whatever the input's size.
 */
export class Flow {
  private held = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly window: number) {
    if (!Number.isInteger(window) || window < 1)
      throw new RangeError(`flow window must be a positive integer, got ${window}`);
  }

  /** Rows taken from the source and not yet finished. */
  get inFlight(): number {
    return this.held;
  }

  /** Resolves when a row may enter; synchronous fast path when there is room. */
  acquire(): Promise<void> | undefined {
    if (this.held < this.window) {
      this.held++;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(() => resolve()));
  }

  release(n = 1): void {
    for (let i = 0; i < n; i++) {
      const next = this.waiters.shift();
      if (next)
        next(); // the permit passes straight to the waiter
      else this.held = Math.max(0, this.held - 1);
    }
  }

  /** Put at the end of a chain: each row leaving gives its permit back. */
  releaseEach<T>(): MonoTypeOperatorFunction<T> {
    return tap(() => this.release());
  }
}
