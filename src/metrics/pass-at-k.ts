/**
 * The unbiased pass@k estimator (Chen et al. 2021) for n runs of which c are correct, as a
 * fraction, with NeMo-Skills' float bits (base.py `_compute_pass_at_k`): 1 when fewer than k runs
 * are wrong, else `1 - math.comb(n - c, k) / math.comb(n, k)`: exact integers, then Python's int /
 * int, the correctly rounded quotient. Below 2^53 both are exact doubles and JavaScript's division
 * is that quotient; above, the binomials are BigInts and `divideToDouble` rounds.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || k < 1 || k > n || c < 0 || c > n)
    throw new RangeError(`passAtK needs integers 1 <= k <= n and 0 <= c <= n (n=${n}, c=${c}, k=${k})`);
  return passAtKRow(n, c)[k]!;
}

/**
 * passAtK(n, c, k) for k = 1..n (index k; 0 unused), cached: every row of a benchmark has the same
 * n, and c takes at most n + 1 values, so the BigInt work is done once per (n, c).
 */
export function passAtKRow(n: number, c: number): Float64Array {
  let byC = ROWS.get(n);
  if (byC === undefined) ROWS.set(n, (byC = []));
  let row = byC[c];
  if (row === undefined) {
    row = new Float64Array(n + 1);
    let all = 1n; // comb(n, k)
    let wrong = 1n; // comb(n - c, k)
    for (let k = 1; k <= n; k++) {
      all = (all * BigInt(n - k + 1)) / BigInt(k);
      wrong = (wrong * BigInt(Math.max(n - c - k + 1, 0))) / BigInt(k);
      row[k] = n - c < k ? 1 : 1 - divideToDouble(wrong, all);
    }
    byC[c] = row;
  }
  return row;
}

const ROWS = new Map<number, Float64Array[]>();
const EXACT = 2n ** 53n;

/**
 * a / b for 0 <= a <= b, rounded to the nearest double, ties to even (Python's int / int,
 * subnormal results included).
 */
export function divideToDouble(a: bigint, b: bigint): number {
  if (a < 0n || b <= 0n) throw new RangeError("divideToDouble needs a >= 0 and b > 0");
  if (a <= EXACT && b <= EXACT) return Number(a) / Number(b);
  if (a === 0n) return 0;
  // q = floor(a * 2^s / b) with 55 or 56 bits, plus a sticky bit for the remainder.
  const s = 55 - (bitLength(a) - bitLength(b));
  const num = s >= 0 ? a << BigInt(s) : a;
  const den = s >= 0 ? b : b << BigInt(-s);
  const q = num / den;
  const sticky = num % den !== 0n;
  const len = bitLength(q);
  // Bit i of q is worth 2^(i - s); keep 53 bits, fewer where the result is subnormal (2^-1074 is the last).
  const drop = Math.max(len - 53, s - 1074);
  if (drop > len) return 0;
  let kept = q >> BigInt(drop);
  const rest = q - (kept << BigInt(drop));
  const half = 1n << BigInt(drop - 1);
  if (rest > half || (rest === half && (sticky || (kept & 1n) === 1n))) kept += 1n;
  return Number(kept) * 2 ** (drop - s);
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}
