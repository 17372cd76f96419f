/**
 * Numeric primitives shared by the statistics stages (metrics, agreement, bootstrap): sums in
 * NumPy's order, so numbers match NumPy-based references bit for bit.
 *
 * @module
 */

/**
 * Sums like NumPy's `np.sum` / `np.add.reduce` on a contiguous float64 array: blocks of up to 128
 * values with eight interleaved accumulators, halves above that, plain left-to-right below 8. Use it
 * where bit-for-bit agreement with NumPy-based references matters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairwiseSum } from "./numeric.ts";
 * assert.equal(pairwiseSum([1, 2, 3.5]), 6.5);
 * assert.equal(pairwiseSum([]), 0);
 * // np.sum([0.1] * 8) is 0.8; a left-to-right sum gives 0.7999999999999999
 * const xs = new Array(8).fill(0.1);
 * assert.equal(pairwiseSum(xs), 0.8);
 * assert.equal(xs.reduce((s, x) => s + x, 0), 0.7999999999999999);
 * ```
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, n = values.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += values[start + i];
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += values[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(values, start, n2) + pairwiseSum(values, start + n2, n - n2);
}
