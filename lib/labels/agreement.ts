/**
 * Agreement between two raters: Cohen's kappa (unweighted, linear or quadratic weights) as
 * scikit-learn 1.2 `cohen_kappa_score`, and Spearman's rank correlation as SciPy 1.10
 * `stats.spearmanr` (average ranks for ties). Input that leaves the statistic undefined throws a
 * {@link MetricError} where the references would return NaN.
 *
 * @module
 */
import { MetricError } from "../core/errors.ts";
import { pairwiseSum } from "../core/numeric.ts";

export { MetricError };

/** Weighting of disagreements in {@link cohenKappa}. */
export type KappaWeights = "none" | "linear" | "quadratic";

/** Options of {@link cohenKappa}. */
export interface KappaOptions<T> {
  /** Default `"none"`: every disagreement counts fully. */
  weights?: KappaWeights;
  /**
   * The ordered categories. Default: the distinct values of both raters, sorted (numbers
   * numerically, strings by code unit). Weights use the distance between positions in this list.
   */
  labels?: readonly T[];
}

function checkPair(fn: string, a: readonly unknown[], b: readonly unknown[]) {
  if (a.length !== b.length) {
    throw new MetricError(`${fn}: the raters differ in length (${a.length} and ${b.length})`);
  }
  if (a.length === 0) throw new MetricError(`${fn}: no items`);
}

/**
 * Cohen's kappa between two raters' categorical labels of the same items, as scikit-learn 1.2
 * `cohen_kappa_score(a, b, weights=...)`:
 * `κ = 1 − Σ w_ij O_ij / Σ w_ij E_ij`, where `O` is the confusion matrix over the K categories,
 * `E_ij = (row total_i · column total_j) / n` and `w_ij` is 1 off the diagonal (`"none"`),
 * `|i − j|` (`"linear"`) or `(i − j)²` (`"quadratic"`), with i, j positions in the sorted
 * category list (so weights follow rank among the categories seen, not the values themselves).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cohenKappa } from "./agreement.ts";
 * // observed agreement 0.75, chance agreement 0.5
 * assert.equal(cohenKappa(["yes", "yes", "no", "no"], ["yes", "no", "no", "no"]), 0.5);
 * assert.equal(cohenKappa([1, 2, 3, 4], [1, 2, 4, 3], { weights: "quadratic" }), 0.8);
 * ```
 */
export function cohenKappa<T extends string | number>(
  a: readonly T[],
  b: readonly T[],
  options: KappaOptions<T> = {},
): number {
  checkPair("cohenKappa", a, b);
  const weights = options.weights ?? "none";
  if (!["none", "linear", "quadratic"].includes(weights)) {
    throw new MetricError(`cohenKappa: weights must be none, linear or quadratic, got ${String(weights)}`);
  }
  for (const [name, xs] of [["a", a], ["b", b]] as const) {
    xs.forEach((x, i) => {
      if (typeof x === "number" ? Number.isNaN(x) : typeof x !== "string") {
        throw new MetricError(`cohenKappa: ${name}[${i}] is ${String(x)}, expected a category`);
      }
    });
  }
  let cats: T[];
  if (options.labels) {
    cats = [...options.labels];
    if (new Set(cats).size !== cats.length) throw new MetricError("cohenKappa: labels repeat a category");
  } else {
    cats = [...new Set([...a, ...b])];
    const kinds = new Set(cats.map((c) => typeof c));
    if (kinds.size > 1) throw new MetricError("cohenKappa: labels mix numbers and strings");
    cats.sort((x, y) => typeof x === "number" ? (x as number) - (y as number) : x < y ? -1 : x > y ? 1 : 0);
  }
  const k = cats.length;
  const pos = new Map<T, number>(cats.map((c, i) => [c, i]));
  // confusion[i][j]: a says category i, b says j (items outside `labels` are left out, as sklearn)
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let n = 0;
  for (let t = 0; t < a.length; t++) {
    const i = pos.get(a[t]), j = pos.get(b[t]);
    if (i === undefined || j === undefined) continue;
    confusion[i][j]++;
    n++;
  }
  if (n === 0) throw new MetricError("cohenKappa: no item has both ratings among the labels");
  const sum0 = cats.map((_, j) => confusion.reduce((s, row) => s + row[j], 0)); // column totals (b)
  const sum1 = confusion.map((row) => row.reduce((s, v) => s + v, 0)); // row totals (a)
  const w = (i: number, j: number) =>
    weights === "none" ? (i === j ? 0 : 1) : weights === "linear" ? Math.abs(i - j) : (i - j) ** 2;
  let observed = 0;
  const expected = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      observed += w(i, j) * confusion[i][j];
      // sklearn: expected = np.outer(sum0, sum1) / n, flattened row-major, summed by np.sum
      expected[i * k + j] = w(i, j) * (sum0[i] * sum1[j] / n);
    }
  }
  const chance = pairwiseSum(expected);
  if (chance === 0) {
    throw new MetricError(
      "cohenKappa: undefined, chance disagreement is 0 (both raters used a single, identical category)",
    );
  }
  return 1 - observed / chance;
}

/**
 * Ranks 1..n with ties given the mean of the ranks they span, as SciPy `rankdata(method="average")`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { averageRanks } from "./agreement.ts";
 * assert.deepEqual(averageRanks([10, 30, 20, 20]), [1, 4, 2.5, 2.5]);
 * ```
 */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((i, j) => xs[i] - xs[j] || i - j);
  const ranks = new Array<number>(xs.length);
  for (let s = 0; s < order.length;) {
    let e = s + 1;
    while (e < order.length && xs[order[e]] === xs[order[s]]) e++;
    // positions s..e-1 (0-based) hold ranks s+1..e: their mean is (s + 1 + e) / 2
    const r = 0.5 * (s + e + 1);
    for (let t = s; t < e; t++) ranks[order[t]] = r;
    s = e;
  }
  return ranks;
}

/**
 * Spearman's rank correlation, as SciPy 1.10 `stats.spearmanr(a, b).correlation`: the Pearson
 * correlation of the two samples' average ranks ({@link averageRanks}), computed as `np.corrcoef`
 * does (`cov_ab / sd_a / sd_b` with `n − 1` divisors) and clipped to [−1, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spearman } from "./agreement.ts";
 * assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
 * assert.equal(spearman([1, 2, 3], [3, 1, 2]), -0.5);
 * ```
 */
export function spearman(a: readonly number[], b: readonly number[]): number {
  checkPair("spearman", a, b);
  for (const [name, xs] of [["a", a], ["b", b]] as const) {
    xs.forEach((x, i) => {
      if (typeof x !== "number" || Number.isNaN(x)) {
        throw new MetricError(`spearman: ${name}[${i}] is ${String(x)}, expected a number`);
      }
    });
  }
  if (a.length < 2) throw new MetricError("spearman: needs at least 2 items");
  const n = a.length;
  const center = (xs: readonly number[]) => {
    const r = averageRanks(xs);
    const mean = pairwiseSum(r) / n;
    return r.map((v) => v - mean);
  };
  const ra = center(a), rb = center(b);
  const dot = (x: number[], y: number[]) => pairwiseSum(x.map((v, i) => v * y[i]));
  const f = 1 / (n - 1);
  const caa = dot(ra, ra) * f, cbb = dot(rb, rb) * f, cab = dot(ra, rb) * f;
  if (caa === 0 || cbb === 0) {
    throw new MetricError(`spearman: undefined, ${caa === 0 ? "a" : "b"} is constant`);
  }
  const r = cab / Math.sqrt(caa) / Math.sqrt(cbb);
  return Math.min(1, Math.max(-1, r));
}
