/**
 * numpy's float64 reductions, bit for bit, for NeMo-Skills' `_statistics` (base.py
 * `_add_std_metrics` calls np.mean and np.std(ddof=1) on Python lists).
 *
 * np.add.reduce over float64 calls numpy's `pairwise_sum` (numpy/_core/src/umath/loops_utils.h.src)
 * once over the whole array, after the identity 0.0: below 8 elements a plain loop; up to
 * PW_BLOCKSIZE (128) eight accumulators over the multiples of 8, combined as
 * ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest one by one; above, the two halves
 * summed apart, the split rounded down to a multiple of 8. A list of booleans or integers is cast
 * to float64 in 8192-element buffers, each summed this way, but integers add up exactly in any order,
 * so one pass gives the same bits. Checked against numpy 2.4.
 *
 * The values are read at `offset + i * stride` (i < n), as numpy reads a strided view: a row's k
 * runs are (r * runs, k, 1), a run's rows (i, rows, runs).
 */
export function pairwiseSum(a: ArrayLike<number>, offset: number, n: number, stride: number): number {
  return 0 + pairwise(a, offset, n, stride);
}

const BLOCK = 128;

function pairwise(a: ArrayLike<number>, offset: number, n: number, stride: number): number {
  if (n < 8) {
    // numpy starts this loop from 0. (so -0.0 alone sums to 0.0), as `res = 0.`
    let res = 0;
    for (let i = 0; i < n; i++) res += a[offset + i * stride]!;
    return res;
  }
  if (n <= BLOCK) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[offset + j * stride]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j]! += a[offset + (i + j) * stride]!;
    }
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[offset + i * stride]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, offset, n2, stride) + pairwise(a, offset + n2 * stride, n - n2, stride);
}

/** np.mean of n values: their pairwise sum / n. */
export function npMean(a: ArrayLike<number>, offset: number, n: number, stride: number): number {
  return pairwiseSum(a, offset, n, stride) / n;
}

/**
 * np.std(x, ddof=1), numpy's `_var` then sqrt: the mean (pairwise sum / n), the deviations
 * d = x - mean squared as d * d, their pairwise sum / (n - 1).
 */
export function npStdDdof1(a: ArrayLike<number>, offset: number, n: number, stride: number): number {
  const mean = npMean(a, offset, n, stride);
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  for (let i = 0; i < n; i++) {
    const d = a[offset + i * stride]! - mean;
    scratch[i] = d * d;
  }
  return Math.sqrt(pairwiseSum(scratch, 0, n, 1) / Math.max(n - 1, 0));
}

/** The squared deviations, reused: np.std runs once per row and k. */
let scratch = new Float64Array(64);
