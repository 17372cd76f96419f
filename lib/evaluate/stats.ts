/**
 * Small exact statistics for counts: the Wilson score interval of a proportion, the exact two-sided
 * binomial test and Pearson's chi-square goodness-of-fit test, with the special functions they need
 * (log-gamma, regularised incomplete gamma). Checked against SciPy in
 * `../shared/reference/eval/golden_eval.json`.
 *
 * @module
 */
import { WinnowError } from "../core/errors.ts";

/** A statistic that cannot be computed from the input; the message names the parameter. */
export class StatsError extends WinnowError {}

/** The 0.975 quantile of the standard normal distribution (a two-sided 95 % interval). */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval for a proportion `k / n` (Wilson 1927): the set of true proportions p the
 * score test at level 95 % (z = 1.959963984540054) would not reject. Unlike the plain `p ± z·se`
 * interval it stays inside [0, 1] and is not empty at k = 0 or k = n. `k` may be fractional (a tie
 * counted as half). `[NaN, NaN]` for n = 0 (no data: no interval).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wilsonInterval } from "./stats.ts";
 * const [lo, hi] = wilsonInterval(7, 10);
 * assert.ok(Math.abs(lo - 0.3967781474611454) < 1e-12 && Math.abs(hi - 0.8922087325936989) < 1e-12);
 * assert.deepEqual(wilsonInterval(0, 10).map((x) => +x.toFixed(4)), [0, 0.2775]);
 * ```
 */
export function wilsonInterval(k: number, n: number, z: number = Z95): [number, number] {
  checkCount(k, n, "wilsonInterval");
  if (n === 0) return [NaN, NaN];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/**
 * Exact two-sided binomial test of `k` successes in `n` trials against success probability `p0`
 * (default 0.5), as `scipy.stats.binomtest(k, n, p0).pvalue` computes it: the probability, under
 * p0, of every outcome no more likely than the one observed (with SciPy's relative tolerance 1e-7
 * for "equally likely"), capped at 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { binomialTest } from "./stats.ts";
 * assert.ok(Math.abs(binomialTest(7, 10) - 0.34375) < 1e-12); // 2 × P(X ≥ 7), X ~ Binomial(10, ½)
 * assert.equal(binomialTest(5, 10), 1);
 * ```
 */
export function binomialTest(k: number, n: number, p0 = 0.5): number {
  checkCount(k, n, "binomialTest");
  if (!Number.isInteger(k)) throw new StatsError(`binomialTest: k must be an integer, got ${k}`);
  if (!(p0 > 0 && p0 < 1)) throw new StatsError(`binomialTest: p0 must be in (0, 1), got ${p0}`);
  if (n === 0) return 1;
  const pmf = binomialPmfs(n, p0);
  const d = pmf[k];
  const rerr = 1 + 1e-7;
  const mean = n * p0;
  if (k === mean) return 1;
  let p = 0;
  if (k < mean) {
    for (let i = 0; i <= k; i++) p += pmf[i];
    // outcomes above the mean no more likely than k
    for (let i = n; i >= Math.ceil(mean) && pmf[i] <= d * rerr; i--) p += pmf[i];
  } else {
    for (let i = k; i <= n; i++) p += pmf[i];
    for (let i = 0; i <= Math.floor(mean) && pmf[i] <= d * rerr; i++) p += pmf[i];
  }
  return Math.min(1, p);
}

/** P(X = i) for i = 0..n, X ~ Binomial(n, p), from log-gamma (accurate to ~1e-13 relative). */
function binomialPmfs(n: number, p: number): Float64Array {
  const out = new Float64Array(n + 1);
  const lp = Math.log(p), lq = Math.log1p(-p), ln = logGamma(n + 1);
  for (let i = 0; i <= n; i++) {
    out[i] = Math.exp(ln - logGamma(i + 1) - logGamma(n - i + 1) + i * lp + (n - i) * lq);
  }
  return out;
}

/** Pearson's chi-square goodness-of-fit test: the statistic and its upper-tail p-value. */
export interface ChiSquareResult {
  /** Σ (observed − expected)² / expected. */
  statistic: number;
  /** P(χ²(df) ≥ statistic). */
  pvalue: number;
  /** Degrees of freedom: categories − 1. */
  df: number;
  /** The expected counts used (scaled to the observed total when given as proportions). */
  expected: number[];
}

/**
 * Pearson's chi-square goodness-of-fit test of observed counts against expected counts (default:
 * equal counts), with `categories − 1` degrees of freedom, as `scipy.stats.chisquare(observed,
 * expected)`. Expected values that do not sum to the observed total are read as proportions and
 * scaled to it (SciPy would refuse them; a reference distribution is usually given as shares).
 * The test is an approximation: it wants expected counts of about 5 or more in every category.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chiSquareTest } from "./stats.ts";
 * const r = chiSquareTest([40, 10]);
 * assert.equal(r.statistic, 18);
 * assert.ok(Math.abs(r.pvalue - 2.2090496998585475e-05) < 1e-15);
 * assert.deepEqual(chiSquareTest([30, 20], [0.5, 0.5]).expected, [25, 25]);
 * ```
 */
export function chiSquareTest(observed: readonly number[], expected?: readonly number[]): ChiSquareResult {
  if (observed.length < 2) throw new StatsError("chiSquareTest: need at least 2 categories");
  for (const [i, o] of observed.entries()) {
    if (!(Number.isFinite(o) && o >= 0)) {
      throw new StatsError(`chiSquareTest: observed[${i}] must be a count ≥ 0, got ${o}`);
    }
  }
  const total = observed.reduce((s, o) => s + o, 0);
  let exp: number[];
  if (expected === undefined) exp = observed.map(() => total / observed.length);
  else {
    if (expected.length !== observed.length) {
      throw new StatsError(
        `chiSquareTest: ${observed.length} observed counts but ${expected.length} expected values`,
      );
    }
    for (const [i, e] of expected.entries()) {
      if (!(Number.isFinite(e) && e > 0)) {
        throw new StatsError(`chiSquareTest: expected[${i}] must be > 0, got ${e}`);
      }
    }
    const sum = expected.reduce((s, e) => s + e, 0);
    exp = Math.abs(sum - total) <= 1e-8 * Math.max(1, total)
      ? [...expected]
      : expected.map((e) => e * total / sum);
  }
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) statistic += (observed[i] - exp[i]) ** 2 / exp[i];
  const df = observed.length - 1;
  return { statistic, pvalue: chiSquareSurvival(statistic, df), df, expected: exp };
}

/**
 * P(χ²(df) ≥ x): the upper tail of the chi-square distribution, the regularised upper incomplete
 * gamma function Q(df/2, x/2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chiSquareSurvival } from "./stats.ts";
 * assert.ok(Math.abs(chiSquareSurvival(3.841458820694124, 1) - 0.05) < 1e-12);
 * ```
 */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(df > 0)) throw new StatsError(`chiSquareSurvival: df must be > 0, got ${df}`);
  if (!(x > 0)) return 1;
  return gammaQ(df / 2, x / 2);
}

/** Regularised upper incomplete gamma Q(a, x) (series for x < a + 1, continued fraction above). */
function gammaQ(a: number, x: number): number {
  const lead = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a, term = 1 / a;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * Math.exp(lead);
  }
  // Lentz's continued fraction for Q.
  const tiny = 1e-300;
  let b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return Math.exp(lead) * h;
}

const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/**
 * ln Γ(x) for x > 0 (Lanczos, g = 7; exact sums of logs for small integers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logGamma } from "./stats.ts";
 * assert.ok(Math.abs(logGamma(5) - Math.log(24)) < 1e-14);
 * ```
 */
export function logGamma(x: number): number {
  if (Number.isInteger(x) && x > 0 && x <= 171) return LOG_FACTORIAL[x - 1];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln((n)!) for n = 0..170, by products in doubles (exact to the last bit or two). */
const LOG_FACTORIAL: Float64Array = (() => {
  const out = new Float64Array(171);
  let f = 1;
  for (let n = 1; n <= 170; n++) {
    out[n] = Math.log(f *= n);
  }
  return out;
})();

function checkCount(k: number, n: number, fn: string): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new StatsError(`${fn}: n must be an integer ≥ 0, got ${n}`);
  if (!(Number.isFinite(k) && k >= 0 && k <= n)) {
    throw new StatsError(`${fn}: k must be between 0 and n = ${n}, got ${k}`);
  }
}
