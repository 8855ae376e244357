/**
 * Adaptive concurrency (AIMD, as TCP does): when the server says it is overloaded (429, or 503
 * from vLLM's queue limit) the number of requests in flight is halved; each success adds
 * 1/limit, so the limit grows by about one per round of requests, up to the user's maximum.
 */
export class AdaptiveLimit {
  private value: number;
  private lastDecrease = 0;
  decreases = 0;

  constructor(
    readonly max: number,
    readonly min = 1,
    /** A burst of overload answers from one round counts once. */
    private readonly holdMs = 1000,
  ) {
    this.value = max;
  }

  get limit(): number {
    return Math.max(this.min, Math.floor(this.value));
  }

  overloaded(now = Date.now()): void {
    if (now - this.lastDecrease < this.holdMs) return;
    this.lastDecrease = now;
    this.value = Math.max(this.min, this.value / 2);
    this.decreases++;
  }

  succeeded(): void {
    if (this.value < this.max) this.value = Math.min(this.max, this.value + 1 / this.value);
  }
}
