/**
 * The unbiased pass@k estimator (Chen et al. 2021), as NeMo-Skills uses it for binary scores:
 * 1 - C(n-c, k) / C(n, k) for n runs of which c are correct, as a fraction.
 * Computed as a product so large n cannot overflow.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (k < 1 || k > n || c < 0 || c > n)
    throw new RangeError(`passAtK needs 1 <= k <= n and 0 <= c <= n (n=${n}, c=${c}, k=${k})`);
  if (n - c < k) return 1;
  let allWrong = 1;
  for (let i = 0; i < k; i++) allWrong *= (n - c - i) / (n - i);
  return 1 - allWrong;
}
