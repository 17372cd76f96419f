/**
 * Combining heuristics: an L2-regularised logistic regression over several heuristic values
 * (standardised), fitted by Newton's method to the same optimum as scikit-learn's
 * `make_pipeline(StandardScaler(), LogisticRegression(C=C))`, and evaluated out of fold against
 * each single heuristic on the same folds.
 *
 * @module
 */
import { type BinaryLabel, MetricError, rocAucScore } from "./metrics.ts";
import { stratifiedFolds } from "./crossval.ts";

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** Inverse regularisation strength, as scikit-learn's `C`. Default 1. */
  C?: number;
  /** Newton iterations at most. Default 100. */
  maxIter?: number;
  /** Stop when every gradient component is below this. Default 1e-10. */
  tol?: number;
}

/** A fitted model. Features are standardised with `mean` and `scale` before `coef` applies. */
export interface LogisticModel {
  /** Per-feature mean and population standard deviation (1 where it is 0) of the training data. */
  mean: number[];
  scale: number[];
  /** Coefficients of the standardised features (scikit-learn's `coef_[0]` after a StandardScaler). */
  coef: number[];
  /** Intercept (scikit-learn's `intercept_[0]`), not penalised. */
  intercept: number;
  /** The same model on raw feature values: logit = rawIntercept + Σ rawCoef[j] · x[j]. */
  rawCoef: number[];
  rawIntercept: number;
  C: number;
  iterations: number;
  converged: boolean;
}

function checkMatrix(X: readonly (readonly number[])[], y: readonly number[]): number {
  if (X.length !== y.length) throw new MetricError(`logistic: ${X.length} rows but ${y.length} labels`);
  if (X.length === 0) throw new MetricError("logistic: no samples");
  const p = X[0].length;
  X.forEach((row, i) => {
    if (row.length !== p) {
      throw new MetricError(`logistic: row ${i} has ${row.length} features, expected ${p}`);
    }
    row.forEach((v, j) => {
      if (!Number.isFinite(v)) {
        throw new MetricError(`logistic: X[${i}][${j}] is ${v}, expected a finite number`);
      }
    });
  });
  return p;
}

/** Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/** log(1 + exp(z)) without overflow. */
function log1pExp(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Fits `P(y = 1 | x) = σ(b + w · z)` on standardised features `z = (x − mean) / scale` by minimising
 * `C · Σ_i [log(1 + e^{η_i}) − y_i η_i] + ½ ‖w‖²` (the intercept `b` is not penalised), scikit-learn's
 * objective for `LogisticRegression(penalty="l2", C=C)` with the lbfgs/newton solvers. Newton's method
 * with the exact Hessian and a backtracking line search; the objective is strictly convex, so the
 * optimum is unique. Converged when every gradient component is below `tol` or the Newton step is
 * below 1e-12 (relative), what rounding of the objective can still resolve.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitLogistic, predictLogit } from "./logistic.ts";
 * const X = [[0], [1], [2], [3], [4], [5]], y = [0, 0, 1, 0, 1, 1];
 * const m = fitLogistic(X, y, { C: 1 });
 * assert.ok(m.converged && m.coef[0] > 0);
 * assert.ok(Math.abs(predictLogit(m, [[2.5]])[0] - m.intercept) < 1e-12); // 2.5 is the mean
 * ```
 */
export function fitLogistic(
  X: readonly (readonly number[])[],
  labels: readonly BinaryLabel[],
  options: LogisticOptions = {},
): LogisticModel {
  const C = options.C ?? 1, maxIter = options.maxIter ?? 100, tol = options.tol ?? 1e-10;
  if (!(C > 0 && Number.isFinite(C))) {
    throw new MetricError(`logistic: C must be a positive number, got ${C}`);
  }
  const y = labels.map((l) => (l === true ? 1 : l === false ? 0 : l));
  const p = checkMatrix(X, y);
  const n = X.length;
  const mean = new Array<number>(p).fill(0), scale = new Array<number>(p).fill(0);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < n; i++) mean[j] += X[i][j];
    mean[j] /= n;
    for (let i = 0; i < n; i++) scale[j] += (X[i][j] - mean[j]) ** 2;
    scale[j] = Math.sqrt(scale[j] / n);
    if (scale[j] === 0) scale[j] = 1;
  }
  // Design matrix with the intercept as the last column.
  const Z = X.map((row) => [...row.map((v, j) => (v - mean[j]) / scale[j]), 1]);
  const d = p + 1;
  let beta = new Array<number>(d).fill(0);
  const objective = (b: number[]) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let eta = 0;
      for (let j = 0; j < d; j++) eta += Z[i][j] * b[j];
      s += log1pExp(eta) - y[i] * eta;
    }
    let pen = 0;
    for (let j = 0; j < p; j++) pen += b[j] * b[j];
    return C * s + 0.5 * pen;
  };
  let f = objective(beta);
  let iterations = 0, converged = false;
  for (; iterations < maxIter; iterations++) {
    const g = new Array<number>(d).fill(0);
    const H = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < n; i++) {
      let eta = 0;
      for (let j = 0; j < d; j++) eta += Z[i][j] * beta[j];
      const mu = sigmoid(eta), w = mu * (1 - mu);
      for (let j = 0; j < d; j++) {
        g[j] += C * (mu - y[i]) * Z[i][j];
        for (let k = 0; k <= j; k++) H[j][k] += C * w * Z[i][j] * Z[i][k];
      }
    }
    for (let j = 0; j < p; j++) {
      g[j] += beta[j];
      H[j][j] += 1;
    }
    for (let j = 0; j < d; j++) for (let k = j + 1; k < d; k++) H[j][k] = H[k][j];
    if (Math.max(...g.map(Math.abs)) < tol) {
      converged = true;
      break;
    }
    const step = solve(H, g);
    // A Newton step this small is below what the objective's rounding can resolve: converged.
    if (Math.max(...step.map(Math.abs)) <= 1e-12 * (1 + Math.max(...beta.map(Math.abs)))) {
      converged = true;
      break;
    }
    let t = 1, next = beta, fNext = f;
    for (let ls = 0; ls < 50; ls++) {
      next = beta.map((b, j) => b - t * step[j]);
      fNext = objective(next);
      // Near the optimum the objective changes by less than its rounding error: accept such steps.
      if (fNext <= f + 8 * Number.EPSILON * Math.abs(f)) break;
      t /= 2;
    }
    beta = next;
    f = fNext;
  }
  const coef = beta.slice(0, p), intercept = beta[p];
  const rawCoef = coef.map((c, j) => c / scale[j]);
  const rawIntercept = intercept - coef.reduce((s, c, j) => s + c * mean[j] / scale[j], 0);
  return { mean, scale, coef, intercept, rawCoef, rawIntercept, C, iterations, converged };
}

/**
 * The model's logit (decision function) for each row of `X` (raw feature values).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predictLogit } from "./logistic.ts";
 * const m = { mean: [1], scale: [2], coef: [4], intercept: -1 };
 * assert.deepEqual(predictLogit(m, [[3]]), [3]); // −1 + 4 · (3 − 1) / 2
 * ```
 */
export function predictLogit(
  model: Pick<LogisticModel, "mean" | "scale" | "coef" | "intercept">,
  X: readonly (readonly number[])[],
): number[] {
  return X.map((row) =>
    row.reduce((s, v, j) => s + model.coef[j] * (v - model.mean[j]) / model.scale[j], model.intercept)
  );
}

/** One fold of {@link crossValidateCombined}: held-out AUC of the model and of each single column. */
export interface CombinedFold {
  fold: number;
  n: number;
  combinedAuc: number;
  singleAuc: Record<string, number>;
}

/** Out-of-fold comparison of the combined filter with each single heuristic. */
export interface CombinedEvaluation {
  columns: string[];
  n: number;
  folds: number;
  seed: number;
  C: number;
  perFold: CombinedFold[];
  /** Mean of the per-fold AUCs. */
  meanFoldAuc: { combined: number; single: Record<string, number> };
  /**
   * AUC of the out-of-fold logits of all folds pooled (each image scored by the model that did not
   * see it; models of different folds are put on one scale) and, per column, the AUC of its values
   * (no fitting, so the same as in-sample).
   */
  pooledAuc: { combined: number; single: Record<string, number> };
  /** Each row's out-of-fold logit (predicted by the model of the folds it is not in), in input order. */
  outOfFoldLogits: number[];
  /** The model refitted on all rows, the one to use. */
  model: LogisticModel;
  /** Its in-sample AUC (optimistic). */
  inSampleAuc: number;
}

/**
 * Stratified k-fold evaluation of {@link fitLogistic} over `columns` (oriented values, higher =
 * better, one row per image): per fold, fit on the other folds, AUC of the held-out logits; each
 * single column's held-out AUC on the same folds beside it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossValidateCombined } from "./logistic.ts";
 * const y = Array.from({ length: 40 }, (_, i) => i % 2);
 * const X = y.map((v, i) => [v + Math.sin(i), v + Math.cos(3 * i)]);
 * const r = crossValidateCombined(X, y, ["a", "b"], { folds: 4 });
 * assert.equal(r.perFold.length, 4);
 * assert.ok(r.pooledAuc.combined > 0.5);
 * ```
 */
export function crossValidateCombined(
  X: readonly (readonly number[])[],
  labels: readonly BinaryLabel[],
  columns: readonly string[],
  options: { folds?: number; seed?: number; C?: number } = {},
): CombinedEvaluation {
  const k = options.folds ?? 5, seed = options.seed ?? 0, C = options.C ?? 1;
  const y = labels.map((l) => (l === true ? 1 : l === false ? 0 : l));
  const p = checkMatrix(X, y);
  if (columns.length !== p) {
    throw new MetricError(`logistic: ${columns.length} column names for ${p} features`);
  }
  const fold = stratifiedFolds(y, k, seed);
  const oof = new Array<number>(y.length).fill(NaN);
  const perFold: CombinedFold[] = [];
  for (let f = 0; f < k; f++) {
    const train = y.flatMap((_, i) => (fold[i] !== f ? [i] : []));
    const test = y.flatMap((_, i) => (fold[i] === f ? [i] : []));
    const m = fitLogistic(train.map((i) => X[i]), train.map((i) => y[i]), { C });
    const logits = predictLogit(m, test.map((i) => X[i]));
    test.forEach((i, r) => (oof[i] = logits[r]));
    const yt = test.map((i) => y[i]);
    const singleAuc: Record<string, number> = {};
    columns.forEach((c, j) => (singleAuc[c] = rocAucScore(yt, test.map((i) => X[i][j]))));
    perFold.push({ fold: f, n: test.length, combinedAuc: rocAucScore(yt, logits), singleAuc });
  }
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  const single = (fn: (c: string, j: number) => number) =>
    Object.fromEntries(columns.map((c, j) => [c, fn(c, j)]));
  const model = fitLogistic(X, y, { C });
  return {
    columns: [...columns],
    n: y.length,
    folds: k,
    seed,
    C,
    perFold,
    meanFoldAuc: {
      combined: mean(perFold.map((r) => r.combinedAuc)),
      single: single((c) => mean(perFold.map((r) => r.singleAuc[c]))),
    },
    pooledAuc: {
      combined: rocAucScore(y, oof),
      single: single((_, j) => rocAucScore(y, X.map((row) => row[j]))),
    },
    outOfFoldLogits: oof,
    model,
    inSampleAuc: rocAucScore(y, predictLogit(model, X)),
  };
}
