/**
 * A set of row positions (non-negative integers, dense from 0) kept as a bitmap: one bit per
 * position instead of a hash entry. Why: resume reads a million done positions and then asks
 * `has(i)` for every input row; a Set<number> made that a noticeable pause and tens of MB,
 * a bitmap makes it milliseconds and 1 bit a row (docs/performance.md, "Figures behind the
 * code"). It is a drop-in `Set<number>` (same methods; iteration is in ascending order).
 * Positions that are not small non-negative integers (lines from other writers) go to an
 * ordinary Set beside the bitmap.
 */
export class PositionSet implements Set<number> {
  private bits = new Uint32Array(1024);
  private count = 0;
  private readonly other = new Set<number>();

  /** Beyond this the bitmap would be large for little gain: such positions go to `other`. */
  private static readonly DENSE_LIMIT = 2 ** 28;

  constructor(values?: Iterable<number>) {
    if (values) for (const v of values) this.add(v);
  }

  get size(): number {
    return this.count + this.other.size;
  }

  has(v: number): boolean {
    if (!PositionSet.dense(v)) return this.other.has(v);
    const w = v >>> 5;
    return w < this.bits.length && (this.bits[w]! & (1 << (v & 31))) !== 0;
  }

  add(v: number): this {
    if (!PositionSet.dense(v)) {
      this.other.add(v);
      return this;
    }
    const w = v >>> 5;
    if (w >= this.bits.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const m = 1 << (v & 31);
    if ((this.bits[w]! & m) === 0) {
      this.bits[w]! |= m;
      this.count++;
    }
    return this;
  }

  delete(v: number): boolean {
    if (!PositionSet.dense(v)) return this.other.delete(v);
    const w = v >>> 5;
    const m = 1 << (v & 31);
    if (w >= this.bits.length || (this.bits[w]! & m) === 0) return false;
    this.bits[w]! &= ~m;
    this.count--;
    return true;
  }

  clear(): void {
    this.bits = new Uint32Array(1024);
    this.count = 0;
    this.other.clear();
  }

  *values(): SetIterator<number> {
    for (let w = 0; w < this.bits.length; w++) {
      const word = this.bits[w]!;
      if (word === 0) continue;
      for (let b = 0; b < 32; b++) if (word & (1 << b)) yield w * 32 + b;
    }
    yield* this.other;
  }

  keys(): SetIterator<number> {
    return this.values();
  }

  *entries(): SetIterator<[number, number]> {
    for (const v of this.values()) yield [v, v];
  }

  [Symbol.iterator](): SetIterator<number> {
    return this.values();
  }

  forEach(fn: (value: number, value2: number, set: Set<number>) => void, thisArg?: unknown): void {
    for (const v of this.values()) fn.call(thisArg, v, v, this);
  }

  get [Symbol.toStringTag](): string {
    return "PositionSet";
  }

  private static dense(v: number): boolean {
    return Number.isInteger(v) && v >= 0 && v < PositionSet.DENSE_LIMIT;
  }
}
