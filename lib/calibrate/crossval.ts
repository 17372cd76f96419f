/**
 * Cross-validated threshold choice: the threshold is chosen on the training folds only and measured
 * on the held-out fold, so the precision, recall and kept fraction reported are the ones to expect on
 * new images, not the optimistic in-sample ones (a threshold chosen and measured on the same images
 * fits their noise).
 *
 * @module
 */
import { type BinaryLabel, MetricError } from "./metrics.ts";
import { seededRandom } from "../core/random.ts";
import { chooseThreshold, confusionAt, type StrategyOptions } from "./thresholds.ts";

/**
 * Stratified k-fold assignment: positives and negatives are each shuffled (Fisher–Yates with
 * {@link seededRandom}) and dealt to folds 0, 1, …, k−1 in turn, so every fold holds ⌊n/k⌋ or ⌈n/k⌉
 * of each class. Returns the fold of every sample. Needs at least `k` samples of each class.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stratifiedFolds } from "./crossval.ts";
 * const folds = stratifiedFolds([0, 0, 0, 1, 1, 1], 3, 7);
 * for (let f = 0; f < 3; f++) {
 *   assert.deepEqual([0, 1].map((c) => folds.filter((g, i) => g === f && [0, 0, 0, 1, 1, 1][i] === c).length), [1, 1]);
 * }
 * ```
 */
export function stratifiedFolds(labels: readonly BinaryLabel[], k: number, seed = 0): number[] {
  if (!(Number.isInteger(k) && k >= 2)) throw new MetricError(`folds: expected an integer ≥ 2, got ${k}`);
  const y = labels.map((l) => (l === true ? 1 : l === false ? 0 : l));
  const rand = seededRandom(seed);
  const fold = new Array<number>(y.length).fill(0);
  for (const cls of [1, 0]) {
    const idx = y.flatMap((v, i) => (v === cls ? [i] : []));
    if (idx.length < k) {
      throw new MetricError(
        `folds: ${k} folds need at least ${k} ${cls ? "positive (usable)" : "negative (not usable)"} ` +
          `samples, got ${idx.length}; use fewer folds`,
      );
    }
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    idx.forEach((sample, r) => (fold[sample] = r % k));
  }
  return fold;
}

/** Rates of a set of images (pooled counts), as in {@link OperatingPoint} without a threshold. */
export interface Rates {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
  fpr: number;
  keptFraction: number;
  youdenJ: number;
}

/** One held-out fold. */
export interface FoldResult extends Rates {
  fold: number;
  /** Images in the held-out fold. */
  n: number;
  /** Threshold chosen on the other folds (oriented). */
  threshold: number;
}

/** What {@link crossValidateThreshold} measured. */
export interface CrossValidation {
  folds: number;
  seed: number;
  perFold: FoldResult[];
  /** Held-out counts of all folds added up, then the rates: the honest estimate. */
  outOfFold: Rates;
  /** The threshold chosen on all images and measured on the same images: optimistic. */
  inSample: Rates & { threshold: number };
}

/**
 * Precision, recall, false-positive rate, kept fraction and Youden's J from confusion counts (tp:
 * good kept, fp: bad kept, fn: good rejected, tn: bad rejected); NaN where a denominator is 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ratesOf } from "./crossval.ts";
 * const r = ratesOf({ tp: 3, fp: 1, fn: 1, tn: 3 });
 * assert.deepEqual([r.precision, r.recall, r.fpr, r.keptFraction, r.youdenJ], [0.75, 0.75, 0.25, 0.5, 0.5]);
 * ```
 */
export function ratesOf(c: { tp: number; fp: number; fn: number; tn: number }): Rates {
  const { tp, fp, fn, tn } = c;
  const kept = tp + fp, n = tp + fp + fn + tn;
  const recall = tp / (tp + fn), fpr = fp / (fp + tn);
  return {
    tp,
    fp,
    fn,
    tn,
    precision: kept ? tp / kept : NaN,
    recall,
    fpr,
    keptFraction: kept / n,
    youdenJ: recall - fpr,
  };
}

/**
 * Stratified k-fold cross-validation of a threshold strategy: for each fold, the threshold is chosen
 * by `strategy` on the other folds and applied to the held-out fold; the held-out confusion counts
 * of all folds are pooled into `outOfFold`. `inSample` chooses and measures on all images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossValidateThreshold } from "./crossval.ts";
 * const y = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1], s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
 * const cv = crossValidateThreshold(y, s, { strategy: "youden" }, { folds: 3, seed: 0 });
 * assert.equal(cv.perFold.length, 3);
 * assert.equal(cv.outOfFold.tp + cv.outOfFold.fn, 7); // every positive held out exactly once
 * ```
 */
export function crossValidateThreshold(
  labels: readonly BinaryLabel[],
  scores: readonly number[],
  strategy: StrategyOptions,
  options: { folds?: number; seed?: number } = {},
): CrossValidation {
  const k = options.folds ?? 5, seed = options.seed ?? 0;
  const y = labels.map((l) => (l === true ? 1 : l === false ? 0 : l));
  const fold = stratifiedFolds(y, k, seed);
  const perFold: FoldResult[] = [];
  const total = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let f = 0; f < k; f++) {
    const train = y.flatMap((_, i) => (fold[i] !== f ? [i] : []));
    const test = y.flatMap((_, i) => (fold[i] === f ? [i] : []));
    const choice = chooseThreshold(train.map((i) => y[i]), train.map((i) => scores[i]), strategy);
    const p = confusionAt(test.map((i) => y[i]), test.map((i) => scores[i]), choice.threshold);
    total.tp += p.tp;
    total.fp += p.fp;
    total.fn += p.fn;
    total.tn += p.tn;
    perFold.push({ fold: f, n: test.length, threshold: choice.threshold, ...ratesOf(p) });
  }
  const all = chooseThreshold(y, scores, strategy);
  return {
    folds: k,
    seed,
    perFold,
    outOfFold: ratesOf(total),
    inSample: { threshold: all.threshold, ...ratesOf(all.point) },
  };
}
