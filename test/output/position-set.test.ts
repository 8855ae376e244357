import { describe, expect, it } from "vitest";
import { PositionSet } from "../../src/output/position-set.js";

describe("PositionSet", () => {
  it("behaves as a Set of numbers, iterating in ascending order", () => {
    const s = new PositionSet([5, 0, 70_000, 5, -1, 2.5]);
    expect(s.size).toBe(5);
    expect(s.has(5) && s.has(0) && s.has(70_000) && s.has(-1) && s.has(2.5)).toBe(true);
    expect(s.has(6) || s.has(1e9)).toBe(false);
    expect(s.delete(5)).toBe(true);
    expect(s.delete(5)).toBe(false);
    expect([...s]).toEqual([0, 70_000, -1, 2.5]);
    expect(s.add(3)).toBe(s);
    const seen: number[] = [];
    s.forEach((v) => seen.push(v));
    expect(seen).toEqual([0, 3, 70_000, -1, 2.5]);
    expect([...s.entries()][0]).toEqual([0, 0]);
    s.clear();
    expect(s.size).toBe(0);
    expect([...s]).toEqual([]);
  });
});
