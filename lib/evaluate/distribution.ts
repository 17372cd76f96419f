/**
 * Distribution metrics of generated images, computed on feature vectors (one row per image) in
 * float64, each as the reference implementation people cite defines it:
 *
 * - {@link frechetDistance} (FID when the features are Inception pool3): `|μ₁ − μ₂|² + Tr(S₁ + S₂
 *   − 2 (S₁S₂)^½)` with sample covariances (n − 1), as pytorch-fid / clean-fid.
 *   `Tr (S₁S₂)^½` is taken by the eigenvalue route (see {@link JACOBI_MAX}): the eigenvalues of `S₁S₂` are those of the
 *   symmetric `M Mᵀ` with `M = F₁ᵀF₂` for factors `Sᵢ = FᵢFᵢᵀ` (the centred features when there are
 *   fewer images than dimensions, else a Cholesky factor), so they are real up to rounding; the
 *   trace is `Σ √λ`. A negative `λ` would give an imaginary part `√−λ`: their sum is reported as
 *   `imaginary` and a warning is raised above 1e-3 (where pytorch-fid raises), never dropped.
 * - {@link kidUnbiased}: unbiased MMD² with the polynomial kernel `(x·y/d + 1)³`;
 *   {@link kidSubsets} the clean-fid / torch-fidelity scheme (100 seeded subsets of ≤ 1000 per set,
 *   mean and standard deviation).
 * - {@link inceptionScore}: `exp(mean_x KL(p(y|x) ‖ p(y)))`, natural log; {@link inceptionScoreSplits}
 *   over 10 splits by default (mean and std, as torch-fidelity; splits in input order).
 * - {@link knnPrecisionRecall}: Kynkäänniemi et al. 2019, k = 3, Euclidean, inclusive radii.
 *
 * @module
 */
import { mulberry32, seededRandom } from "../core/random.ts";
import { quantileSorted } from "../calibrate/bootstrap.ts";
import {
  centered,
  choleskyPsd,
  columnMeans,
  type FeatureMatrix,
  gramColumns,
  singularValues,
  symmetricEigenvalues,
  timesTranspose,
  toMatrix,
  transpose,
} from "./linalg.ts";

export type { FeatureMatrix } from "./linalg.ts";

/**
 * Up to this many rows of the smaller factor, `Tr (S₁S₂)^½` is the sum of singular values of `M`
 * by Jacobi (exact to rounding, so a set against itself gives 0); above, the eigenvalues of `M Mᵀ`
 * (faster, zero eigenvalues only to √ε, negative ones reported as `imaginary`).
 */
export const JACOBI_MAX = 512;

/** Feature rows (plain arrays or typed arrays) or a packed {@link FeatureMatrix}. */
export type Features = readonly ArrayLike<number>[] | FeatureMatrix;

/** A Fréchet distance with what it was computed from. */
export interface FrechetResult {
  /** The distance (0 for identical sets, up to rounding). */
  value: number;
  /** `|μ₁ − μ₂|²`. */
  meanTerm: number;
  /** `Tr(S₁ + S₂ − 2 (S₁S₂)^½)`. */
  covTerm: number;
  /** Σ √−λ over negative eigenvalues of `S₁S₂`: the imaginary part of `Tr (S₁S₂)^½`. */
  imaginary: number;
  /** Plain-language problems: too few images for the dimension, a large imaginary part. */
  warnings: string[];
  n1: number;
  n2: number;
  d: number;
}

function factorOf(m: FeatureMatrix, mu: Float64Array): { f: Float64Array; k: number; trace: number } {
  // A factor stored as k rows of d (F, k × d) with S = FᵀF.
  const c = centered(m, mu);
  const scale = 1 / (m.n - 1);
  let trace = 0;
  for (let i = 0; i < c.length; i++) trace += c[i] * c[i];
  trace *= scale;
  if (m.n <= m.d) {
    const s = Math.sqrt(scale);
    for (let i = 0; i < c.length; i++) c[i] *= s;
    return { f: c, k: m.n, trace };
  }
  // S = L Lᵀ; as k × d rows: Fᵀ = Lᵀ, so row i of F-stored is column i of L.
  const cov = gramColumns(c, m.n, m.d, scale);
  const l = choleskyPsd(cov, m.d);
  const f = new Float64Array(m.d * m.d);
  for (let i = 0; i < m.d; i++) for (let j = 0; j < m.d; j++) f[j * m.d + i] = l[i * m.d + j];
  return { f, k: m.d, trace };
}

/**
 * The Fréchet distance of two feature sets with its parts and warnings (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frechet } from "./distribution.ts";
 * const a = [[0, 0], [2, 0], [0, 2], [2, 2]];
 * const b = a.map(([x, y]) => [x + 1, y]);   // shifted by 1: the distance is |Δμ|² = 1
 * const r = frechet(a, b);
 * assert.ok(Math.abs(r.value - 1) < 1e-12);
 * assert.deepEqual(r.warnings, []);
 * assert.match(frechet(a.slice(0, 2), b).warnings[0], /fewer images \(2\) than feature dimensions \(2\)/);
 * ```
 */
export function frechet(a: Features, b: Features): FrechetResult {
  const A = toMatrix(a, "first set"), B = toMatrix(b, "second set");
  if (A.d !== B.d) throw new RangeError(`frechet: the sets have ${A.d} and ${B.d} feature dimensions`);
  for (const [m, what] of [[A, "first"], [B, "second"]] as const) {
    if (m.n < 2) {
      throw new RangeError(`frechet: the ${what} set has ${m.n} image; a covariance needs at least 2`);
    }
  }
  const d = A.d;
  const warnings: string[] = [];
  for (const [m, what] of [[A, "first"], [B, "second"]] as const) {
    if (m.n <= d) {
      warnings.push(
        `fewer images (${m.n}) than feature dimensions (${d}) in the ${what} set: its covariance is ` +
          `singular and the distance is biased and noisy; use more images (published FIDs use ≥ 10000)`,
      );
    }
  }
  const muA = columnMeans(A), muB = columnMeans(B);
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (muA[j] - muB[j]) ** 2;
  const fa = factorOf(A, muA), fb = factorOf(B, muB);
  // M = Fa Fbᵀ (ka × kb) with Fa, Fb stored as k × d: eig(S₁S₂) = eig(M Mᵀ) ∪ zeros.
  const m = timesTranspose(fa.f, fb.f, fa.k, fb.k, d);
  const small = Math.min(fa.k, fb.k);
  let trSqrt = 0, imaginary = 0;
  if (small <= JACOBI_MAX) {
    // Σ √λ(S₁S₂) = Σ σ(M): singular values by Jacobi, accurate also where they are zero.
    for (const s of singularValues(m, fa.k, fb.k)) trSqrt += s;
  } else {
    const g = fa.k <= fb.k
      ? timesTranspose(m, m, fa.k, fa.k, fb.k) // M Mᵀ
      : (() => {
        const mt = transpose(m, fa.k, fb.k);
        return timesTranspose(mt, mt, fb.k, fb.k, fa.k); // Mᵀ M
      })();
    for (const l of symmetricEigenvalues(g, small)) {
      if (l >= 0) trSqrt += Math.sqrt(l);
      else imaginary += Math.sqrt(-l);
    }
  }
  if (imaginary > 1e-3) {
    warnings.push(
      `Tr sqrt(S1 S2) has an imaginary part of ${imaginary.toPrecision(3)} (> 1e-3, where pytorch-fid ` +
        `stops): the covariances are numerically degenerate; the real part is used`,
    );
  }
  const covTerm = fa.trace + fb.trace - 2 * trSqrt;
  const value = meanTerm + covTerm;
  return { value, meanTerm, covTerm, imaginary, warnings, n1: A.n, n2: B.n, d };
}

/**
 * The Fréchet distance of two feature sets (FID on Inception pool3 features), float64. For the
 * warnings and the imaginary part use {@link frechet}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frechetDistance } from "./distribution.ts";
 * const a = [[1, 2], [3, 1], [0, 0], [2, 5], [4, 4]];
 * assert.ok(Math.abs(frechetDistance(a, a)) < 1e-9);
 * ```
 */
export function frechetDistance(a: Features, b: Features): number {
  return frechet(a, b).value;
}

function polyKernelSums(
  x: FeatureMatrix,
  xi: ArrayLike<number>,
  y: FeatureMatrix,
  yi: ArrayLike<number>,
  same: boolean,
): number {
  // Σ (x·y/d + 1)³ over pairs (off-diagonal only when `same`).
  const d = x.d;
  let sum = 0;
  for (let a = 0; a < xi.length; a++) {
    const ra = xi[a] * d;
    for (let b = same ? a + 1 : 0; b < yi.length; b++) {
      const rb = yi[b] * d;
      let dot = 0;
      for (let t = 0; t < d; t++) dot += x.data[ra + t] * y.data[rb + t];
      const k = dot / d + 1;
      sum += k * k * k;
    }
  }
  return same ? 2 * sum : sum;
}

function mmd2(x: FeatureMatrix, xi: ArrayLike<number>, y: FeatureMatrix, yi: ArrayLike<number>): number {
  const n = xi.length, m = yi.length;
  const kxx = polyKernelSums(x, xi, x, xi, true);
  const kyy = polyKernelSums(y, yi, y, yi, true);
  const kxy = polyKernelSums(x, xi, y, yi, false);
  return kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2 * kxy / (n * m);
}

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/**
 * Unbiased MMD² between two feature sets with the polynomial kernel `k(x, y) = (x·y/d + 1)³`
 * (KID over one subset: the whole sets).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kidUnbiased } from "./distribution.ts";
 * const a = [[0, 1], [1, 0], [1, 1]], b = [[5, 5], [4, 6], [6, 4]];
 * assert.ok(kidUnbiased(a, b) > kidUnbiased(a, a.map(([x, y]) => [y, x])));
 * ```
 */
export function kidUnbiased(a: Features, b: Features): number {
  const A = toMatrix(a, "first set"), B = toMatrix(b, "second set");
  if (A.d !== B.d) throw new RangeError(`kidUnbiased: the sets have ${A.d} and ${B.d} feature dimensions`);
  if (A.n < 2 || B.n < 2) throw new RangeError("kidUnbiased: each set needs at least 2 images");
  return mmd2(A, range(A.n), B, range(B.n));
}

/** Options of {@link kidSubsets}. */
export interface KidOptions {
  /** Subsets drawn (default 100, as clean-fid and torch-fidelity). */
  subsets?: number;
  /** Largest subset (default 1000); each subset has `min(n1, n2, subsetSize)` images of each set. */
  subsetSize?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
}

/** KID over subsets: mean and (population) standard deviation of the subsets' unbiased MMD². */
export interface KidResult {
  kid: number;
  std: number;
  subsets: number;
  subsetSize: number;
}

function sampleWithout(n: number, m: number, rand: () => number): Int32Array {
  const idx = range(n);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.subarray(0, m);
}

/**
 * KID as clean-fid / torch-fidelity compute it: `subsets` draws without replacement of
 * `min(n1, n2, subsetSize)` images from each set, the unbiased MMD² of each, their mean and
 * standard deviation. The draws come from winnow's seeded generator, so they repeat exactly
 * (but are not numpy's draws: expect differences of the order of `std` against clean-fid).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kidSubsets } from "./distribution.ts";
 * const a = Array.from({ length: 30 }, (_, i) => [Math.sin(i), Math.cos(i)]);
 * const b = a.map(([x, y]) => [x + 0.5, y]);
 * const r = kidSubsets(a, b, { subsets: 10, subsetSize: 20 });
 * assert.equal(r.subsetSize, 20);
 * assert.ok(r.kid > 0 && r.std > 0);
 * ```
 */
export function kidSubsets(a: Features, b: Features, o: KidOptions = {}): KidResult {
  const A = toMatrix(a, "first set"), B = toMatrix(b, "second set");
  if (A.d !== B.d) throw new RangeError(`kid: the sets have ${A.d} and ${B.d} feature dimensions`);
  const m = Math.min(A.n, B.n, o.subsetSize ?? 1000);
  if (m < 2) throw new RangeError("kid: each set needs at least 2 images");
  const subsets = Math.max(1, Math.floor(o.subsets ?? 100));
  const rand = mulberry32(o.seed ?? 0);
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const xi = sampleWithout(B.n, m, rand);
    const yi = sampleWithout(A.n, m, rand);
    values.push(mmd2(B, xi, A, yi));
  }
  const kid = values.reduce((x, y) => x + y, 0) / subsets;
  const std = Math.sqrt(values.reduce((x, y) => x + (y - kid) ** 2, 0) / subsets);
  return { kid, std, subsets, subsetSize: m };
}

function checkProbs(probs: readonly ArrayLike<number>[]): number {
  if (!probs.length) throw new RangeError("inceptionScore: no images");
  const c = probs[0].length;
  probs.forEach((p, i) => {
    if (p.length !== c) {
      throw new RangeError(`inceptionScore: row ${i} has ${p.length} classes, row 0 has ${c}`);
    }
    for (let j = 0; j < c; j++) {
      if (!(p[j] >= 0) || !Number.isFinite(p[j])) {
        throw new RangeError(`inceptionScore: row ${i}, class ${j} is ${p[j]}, not a probability`);
      }
    }
  });
  return c;
}

/**
 * Inception Score of one split: `exp(mean_x KL(p(y|x) ‖ p(y)))` with `p(y)` the mean of the rows,
 * natural log, `0 · log 0 = 0`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inceptionScore } from "./distribution.ts";
 * // Two confident, different classes: IS = 2; all the same: IS = 1.
 * assert.ok(Math.abs(inceptionScore([[1, 0], [0, 1]]) - 2) < 1e-12);
 * assert.ok(Math.abs(inceptionScore([[0.3, 0.7], [0.3, 0.7]]) - 1) < 1e-12);
 * ```
 */
export function inceptionScore(probs: readonly ArrayLike<number>[]): number {
  const c = checkProbs(probs);
  const py = new Float64Array(c);
  for (const p of probs) for (let j = 0; j < c; j++) py[j] += p[j];
  for (let j = 0; j < c; j++) py[j] /= probs.length;
  let kl = 0;
  for (const p of probs) {
    for (let j = 0; j < c; j++) if (p[j] > 0) kl += p[j] * (Math.log(p[j]) - Math.log(py[j]));
  }
  return Math.exp(kl / probs.length);
}

/**
 * Inception Score over `splits` consecutive parts (default 10, as torch-fidelity and the original
 * code; part `i` is rows `⌊i·N/splits⌋ … ⌊(i+1)·N/splits⌋`, input order): mean and population std.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inceptionScoreSplits } from "./distribution.ts";
 * const probs = Array.from({ length: 20 }, (_, i) => [i % 2, 1 - (i % 2)]);
 * assert.deepEqual(inceptionScoreSplits(probs, 10), { mean: 2, std: 0, splits: 10 });
 * ```
 */
export function inceptionScoreSplits(
  probs: readonly ArrayLike<number>[],
  splits = 10,
): { mean: number; std: number; splits: number } {
  checkProbs(probs);
  const n = probs.length;
  if (!Number.isInteger(splits) || splits < 1 || splits > n) {
    throw new RangeError(`inceptionScore: splits must be 1 … ${n} (the number of images), got ${splits}`);
  }
  const scores: number[] = [];
  for (let i = 0; i < splits; i++) {
    scores.push(inceptionScore(probs.slice(Math.floor(i * n / splits), Math.floor((i + 1) * n / splits))));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, splits };
}

function sqDistances(x: FeatureMatrix, y: FeatureMatrix): Float64Array {
  const d = x.d, out = new Float64Array(x.n * y.n);
  for (let i = 0; i < x.n; i++) {
    for (let j = 0; j < y.n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = x.data[i * d + t] - y.data[j * d + t];
        s += v * v;
      }
      out[i * y.n + j] = s;
    }
  }
  return out;
}

/** Squared distance of each row to its k-th nearest other row of the same set. */
function kthRadii(x: FeatureMatrix, k: number): Float64Array {
  const dist = sqDistances(x, x);
  const r = new Float64Array(x.n);
  const row = new Float64Array(x.n - 1);
  for (let i = 0; i < x.n; i++) {
    let t = 0;
    for (let j = 0; j < x.n; j++) if (j !== i) row[t++] = dist[i * x.n + j];
    row.sort();
    r[i] = row[k - 1];
  }
  return r;
}

function coverage(balls: FeatureMatrix, radii: Float64Array, points: FeatureMatrix): number {
  const dist = sqDistances(points, balls);
  let inside = 0;
  for (let i = 0; i < points.n; i++) {
    for (let j = 0; j < balls.n; j++) {
      if (dist[i * balls.n + j] <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / points.n;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019): precision = share of `fake` samples
 * inside some real sample's k-NN ball (radius = distance to its k-th nearest other real sample,
 * inclusive), recall = the same with the roles swapped. Euclidean, exact (all pairs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { knnPrecisionRecall } from "./distribution.ts";
 * const real = [[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.5]];
 * const fake = [[0.5, 0.4], [9, 9], [0.2, 0.8], [8, 9], [9, 8]];
 * const { precision, recall } = knnPrecisionRecall(real, fake, 3);
 * assert.equal(precision, 2 / 5);
 * ```
 */
export function knnPrecisionRecall(
  real: Features,
  fake: Features,
  k = 3,
): { precision: number; recall: number } {
  const R = toMatrix(real, "real set"), F = toMatrix(fake, "fake set");
  if (R.d !== F.d) {
    throw new RangeError(`knnPrecisionRecall: the sets have ${R.d} and ${F.d} feature dimensions`);
  }
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`knnPrecisionRecall: k must be a positive integer, got ${k}`);
  }
  for (const [m, what] of [[R, "real"], [F, "fake"]] as const) {
    if (m.n <= k) {
      throw new RangeError(
        `knnPrecisionRecall: the ${what} set has ${m.n} samples; k = ${k} needs more than k`,
      );
    }
  }
  return {
    precision: coverage(R, kthRadii(R, k), F),
    recall: coverage(F, kthRadii(F, k), R),
  };
}

/** A mean with its bootstrap percentile interval. */
export interface MeanInterval {
  mean: number;
  /** 95 % percentile bootstrap interval (`[mean, mean]` for one value). */
  ci95: [number, number];
  n: number;
}

/**
 * The mean of `values` (e.g. CLIP scores of a run's images: the "mean CLIP score") with a 95 %
 * percentile bootstrap interval over images (`resamples`, default 2000, seeded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanWithInterval } from "./distribution.ts";
 * const r = meanWithInterval([30, 31, 29, 32, 28]);
 * assert.equal(r.mean, 30);
 * assert.ok(r.ci95[0] < 30 && r.ci95[1] > 30);
 * ```
 */
export function meanWithInterval(
  values: readonly number[],
  o: { resamples?: number; seed?: number } = {},
): MeanInterval {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) throw new RangeError("meanWithInterval: no finite values");
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: [mean, mean], n };
  const rand = seededRandom(o.seed ?? 0);
  const means: number[] = [];
  for (let r = 0; r < (o.resamples ?? 2000); r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[Math.floor(rand() * n)];
    means.push(s / n);
  }
  means.sort((a, b) => a - b);
  return { mean, ci95: [quantileSorted(means, 0.025), quantileSorted(means, 0.975)], n };
}
