/**
 * Fitting a learned scorer (`lib/models/scorer.ts`) on labeled rows: the L2-regularised logistic
 * regression of `logistic.ts` over a few columns, evaluated out of fold on stratified folds
 * (`crossValidateCombined`: every row is scored by a model that did not see it) with a stratified
 * bootstrap 95 % interval (`bootstrap.ts`), each single feature's AUC beside it, then refitted on all
 * rows and written with its provenance. The out-of-fold AUC is not the training AUC, but choosing
 * the features and C on the same labels still makes it somewhat optimistic: say so where it is
 * reported, and judge a scorer on labels it was not fitted or chosen on.
 *
 * @module
 */
import { crossValidateCombined } from "./logistic.ts";
import { bootstrapCalibration, quantileSorted } from "./bootstrap.ts";
import { rocAucScore } from "./metrics.ts";
import { featureVector, type Scorer, SCORER_FORMAT, type ScorerFeature } from "../models/scorer.ts";

/** An AUC with its stratified bootstrap 95 % interval. */
export interface AucWithInterval {
  auc: number;
  low: number;
  high: number;
  /** Rows, and rows of class 1 / class 0, it was measured on. */
  n: number;
  positives: number;
  negatives: number;
}

/** Options of {@link fitScorer}. */
export interface FitScorerOptions {
  name: string;
  output: string;
  target: string;
  features: ScorerFeature[];
  /** Inverse L2 strength of the logistic (scikit-learn's C). Default 0.1: strong, few positives. */
  C?: number;
  /** Folds of the out-of-fold estimate (default 5). */
  folds?: number;
  /** Seed of folds and bootstrap (default 0). */
  seed?: number;
  /** Bootstrap resamples of the intervals (default 1000). */
  resamples?: number;
  /** Further fold seeds whose out-of-fold AUCs are reported as a spread (default 20; 0 for none). */
  repeats?: number;
  /**
   * Subsets on which the out-of-fold AUC is also reported (e.g. `{ "faces ≥ 32 px": [true, false, …] }`,
   * one flag per row). The model is the same; only the rows measured differ.
   */
  groups?: Record<string, readonly boolean[]>;
  /**
   * Further columns of `rows` whose single-signal AUCs are reported beside the features' (e.g. face
   * size and detector confidence), so the model is compared with every signal, not only its inputs.
   * Rows without a finite value are left out of that column's AUC.
   */
  report?: readonly string[];
  /** Labels file and refit command, for the provenance. */
  labels: string;
  command: string;
  /** ISO time of the fit (default now). */
  fitted?: string;
  /** Further provenance (e.g. how the rows were made, which detector found the faces). */
  notes?: Record<string, unknown>;
}

/** A fitted scorer, the out-of-fold probability of every row (input order) and the single-signal AUCs. */
export interface FitScorerResult {
  scorer: Scorer;
  outOfFold: number[];
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * AUC of `scores` against `y` (1 = target) with a stratified bootstrap 95 % interval.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aucWithInterval } from "./fit_scorer.ts";
 * const r = aucWithInterval([0, 0, 1, 0, 1, 1], [1, 2, 3, 4, 5, 6], { resamples: 100 });
 * assert.ok(Math.abs(r.auc - 8 / 9) < 1e-12);
 * assert.ok(r.low <= r.auc && r.auc <= r.high);
 * assert.deepEqual([r.n, r.positives, r.negatives], [6, 3, 3]);
 * ```
 */
export function aucWithInterval(
  y: readonly number[],
  scores: readonly number[],
  o: { resamples?: number; seed?: number } = {},
): AucWithInterval {
  const sorted = [...scores].sort((a, b) => a - b);
  const b = bootstrapCalibration(y, scores, quantileSorted(sorted, 0.5), {
    resamples: o.resamples ?? 1000,
    seed: o.seed ?? 0,
  });
  const positives = y.filter((v) => v === 1).length;
  return {
    auc: b.auc.estimate,
    low: b.auc.low,
    high: b.auc.high,
    n: y.length,
    positives,
    negatives: y.length - positives,
  };
}

/**
 * Out-of-fold probabilities of the logistic model on `X` (each row predicted by the model of the
 * folds it is not in; `crossValidateCombined`'s folds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outOfFoldLogistic } from "./fit_scorer.ts";
 * const X = [[0], [1], [2], [3], [4], [5], [6], [7], [8], [9]], y = [0, 0, 0, 1, 0, 1, 0, 1, 1, 1];
 * const p = outOfFoldLogistic(X, y, { folds: 2, seed: 0 });
 * assert.equal(p.length, 10);
 * assert.ok(p[9] > p[0]);
 * ```
 */
export function outOfFoldLogistic(
  X: readonly (readonly number[])[],
  y: readonly number[],
  options: { folds?: number; seed?: number; C?: number } = {},
): number[] {
  const names = (X[0] ?? []).map((_, j) => `x${j}`);
  return crossValidateCombined(X, y, names, { folds: options.folds, seed: options.seed, C: options.C ?? 0.1 })
    .outOfFoldLogits.map(sigmoid);
}

/**
 * Fits a scorer on `rows` (columns by name) with labels `y` (1 = the target): out-of-fold AUC with
 * interval (and on each of `groups`), each single feature's AUC with interval (oriented the way it
 * separates best, which flatters the single signals, not the model), the spread of the out-of-fold
 * AUC over other fold seeds, the training AUC, and the model refitted on every row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitScorer } from "./fit_scorer.ts";
 * import { applyScorer } from "../models/scorer.ts";
 * const rows = Array.from({ length: 40 }, (_, i) => ({ a: i % 10, b: i % 3 }));
 * const y = rows.map((r) => (r.a + (r.b === 1 ? 3 : 0) > 6 ? 1 : 0));
 * const { scorer, outOfFold } = fitScorer(rows, y, {
 *   name: "t", output: "t_score", target: "y = 1", labels: "l.csv", command: "fit", repeats: 0, resamples: 50,
 *   features: [{ name: "a", transform: "identity", missing: 0 }, { name: "b", transform: "identity", missing: 0 }],
 * });
 * assert.equal(outOfFold.length, 40);
 * assert.ok(scorer.provenance.outOfFold.auc > 0.8);
 * assert.ok(applyScorer(scorer, { a: 9, b: 1 }) > applyScorer(scorer, { a: 0, b: 0 }));
 * ```
 */
export function fitScorer(
  rows: readonly Record<string, unknown>[],
  y: readonly number[],
  options: FitScorerOptions,
): FitScorerResult {
  if (rows.length !== y.length) throw new Error(`fitScorer: ${rows.length} rows but ${y.length} labels`);
  const C = options.C ?? 0.1, folds = options.folds ?? 5, seed = options.seed ?? 0;
  const resamples = options.resamples ?? 1000;
  const names = options.features.map((f) => f.name);
  const X = rows.map((r) => featureVector(options, r));
  const cv = crossValidateCombined(X, y, names, { folds, seed, C });
  const oof = cv.outOfFoldLogits.map(sigmoid);
  const iv = (ys: readonly number[], s: readonly number[]) => aucWithInterval(ys, s, { resamples, seed });
  const overall = iv(y, oof);
  const singles = (idx: number[]) => {
    const yg = idx.map((i) => y[i]);
    const out: Record<string, AucWithInterval & { direction: "higher" | "lower" }> = {};
    names.forEach((name, j) => {
      const col = idx.map((i) => X[i][j]);
      const lower = rocAucScore(yg, col) < 0.5;
      out[name] = { ...iv(yg, lower ? col.map((v) => -v) : col), direction: lower ? "lower" : "higher" };
    });
    for (const name of options.report ?? []) {
      if (name in out) continue;
      const keep = idx.filter((i) => rows[i][name] !== null && Number.isFinite(Number(rows[i][name])));
      const ys = keep.map((i) => y[i]), col = keep.map((i) => Number(rows[i][name]));
      if (!ys.includes(0) || !ys.includes(1)) continue;
      const lower = rocAucScore(ys, col) < 0.5;
      out[name] = { ...iv(ys, lower ? col.map((v) => -v) : col), direction: lower ? "lower" : "higher" };
    }
    return out;
  };
  const single = singles(y.map((_, i) => i));
  const groups: Record<string, AucWithInterval & { singleSignals: ReturnType<typeof singles> }> = {};
  for (const [g, flags] of Object.entries(options.groups ?? {})) {
    if (flags.length !== y.length) {
      throw new Error(`fitScorer: group "${g}" has ${flags.length} flags for ${y.length} rows`);
    }
    const idx = y.flatMap((_, i) => (flags[i] ? [i] : []));
    const yg = idx.map((i) => y[i]);
    if (yg.includes(0) && yg.includes(1)) {
      groups[g] = { ...iv(yg, idx.map((i) => oof[i])), singleSignals: singles(idx) };
    }
  }
  const repeats = options.repeats ?? 20;
  const spread = Array.from(
    { length: repeats },
    (_, r) => crossValidateCombined(X, y, names, { folds, seed: seed + 1 + r, C }).pooledAuc.combined,
  ).sort((a, b) => a - b);
  const m = cv.model;
  const positives = y.filter((v) => v === 1).length;
  const scorer: Scorer = {
    format: SCORER_FORMAT,
    name: options.name,
    output: options.output,
    target: options.target,
    features: options.features,
    model: { type: "logistic", mean: m.mean, scale: m.scale, coef: m.coef, intercept: m.intercept, C },
    provenance: {
      labels: options.labels,
      rows: rows.length,
      positives,
      fitted: options.fitted ?? new Date().toISOString(),
      command: options.command,
      folds,
      seed,
      outOfFold: { auc: overall.auc, low: overall.low, high: overall.high, resamples },
      ...(Object.keys(groups).length ? { outOfFoldGroups: groups } : {}),
      singleSignals: single,
      ...(repeats
        ? {
          outOfFoldOtherSeeds: {
            seeds: `${seed + 1}–${seed + repeats}`,
            min: spread[0],
            median: spread[Math.floor(repeats / 2)],
            max: spread[repeats - 1],
          },
        }
        : {}),
      trainingAuc: cv.inSampleAuc,
      ...(options.notes ?? {}),
    },
  };
  return { scorer, outOfFold: oof };
}
