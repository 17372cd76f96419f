/**
 * Bootstrap confidence intervals for a calibration: AUC, average precision, and precision, recall
 * and kept fraction at the chosen threshold, from stratified resamples drawn with a seeded PRNG, so
 * the same seed gives the same intervals on every machine.
 *
 * @module
 */
import { averagePrecisionScore, type BinaryLabel, MetricError, rocAucScore } from "./metrics.ts";
import { chooseThreshold, confusionAt, type StrategyOptions } from "./thresholds.ts";
import { seededRandom } from "../core/random.ts";

/**
 * The `q`-quantile (0–1) of sorted finite values, interpolating linearly between order statistics
 * as NumPy's `np.percentile(values, 100 * q)` does by default. NaN for no values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantileSorted } from "./bootstrap.ts";
 * assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
 * assert.equal(quantileSorted([1, 2, 3, 4], 0.025), 1.075);
 * ```
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h), hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** A point estimate with its bootstrap percentile interval. */
export interface Interval {
  /** The value on the data as given. */
  estimate: number;
  /** Lower and upper percentile of the resampled values ((1 − level)/2 and (1 + level)/2). */
  low: number;
  high: number;
  /** Resamples the statistic was defined on (precision is not when a resample keeps nothing). */
  resamples: number;
}

/** Options of {@link bootstrapCalibration}. */
export interface BootstrapOptions {
  /** Number of resamples. Default 1000. */
  resamples?: number;
  /** PRNG seed. Default 0. */
  seed?: number;
  /** Coverage of the intervals. Default 0.95. */
  level?: number;
  /**
   * When given, the threshold is chosen again in every resample by this strategy and its spread is
   * reported as `threshold` (the uncertainty of the choice itself, beside that of its operating point).
   */
  rechoose?: StrategyOptions;
}

/** What {@link bootstrapCalibration} measured. */
export interface BootstrapResult {
  resamples: number;
  seed: number;
  level: number;
  auc: Interval;
  averagePrecision: Interval;
  /** At the fixed chosen threshold. */
  precision: Interval;
  recall: Interval;
  keptFraction: Interval;
  /** The threshold re-chosen per resample (with `rechoose`). */
  threshold?: Interval;
}

/**
 * Stratified bootstrap: each resample draws as many positives as there are, with replacement, from
 * the positives, and as many negatives from the negatives (so every resample has both classes and the
 * data's prevalence). On each it computes AUC, average precision, and precision, recall and kept
 * fraction of keeping `score >= threshold` with the threshold fixed; the interval is the percentile
 * interval of those values (NumPy's linear percentile). It describes how much the numbers would move
 * with another sample of the same size from the same source; it does not cover a different model,
 * prompt set or labeler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bootstrapCalibration } from "./bootstrap.ts";
 * const y = [0, 0, 1, 0, 1, 1, 0, 1, 1, 1], s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
 * const b = bootstrapCalibration(y, s, 5, { resamples: 200, seed: 1 });
 * assert.ok(b.auc.low <= b.auc.estimate && b.auc.estimate <= b.auc.high);
 * assert.deepEqual(b, bootstrapCalibration(y, s, 5, { resamples: 200, seed: 1 }));
 * ```
 */
export function bootstrapCalibration(
  labels: readonly BinaryLabel[],
  scores: readonly number[],
  threshold: number,
  options: BootstrapOptions = {},
): BootstrapResult {
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples > 0)) {
    throw new MetricError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) throw new MetricError(`bootstrap: level must be in (0, 1), got ${level}`);
  const y = labels.map((l) => (l === true ? 1 : l === false ? 0 : l));
  const pos = y.flatMap((v, i) => (v === 1 ? [i] : []));
  const neg = y.flatMap((v, i) => (v === 1 ? [] : [i]));
  const base = confusionAt(y, scores, threshold);
  const estimate = {
    auc: rocAucScore(y, scores),
    averagePrecision: averagePrecisionScore(y, scores),
    precision: base.precision,
    recall: base.recall,
    keptFraction: base.keptFraction,
    threshold: threshold,
  };
  const draws: Record<keyof typeof estimate, number[]> = {
    auc: [],
    averagePrecision: [],
    precision: [],
    recall: [],
    keptFraction: [],
    threshold: [],
  };
  const rand = seededRandom(seed);
  const n = y.length;
  const ry = new Array<number>(n), rs = new Array<number>(n);
  for (let b = 0; b < resamples; b++) {
    let k = 0;
    for (const group of [pos, neg]) {
      for (let j = 0; j < group.length; j++) {
        const i = group[Math.floor(rand() * group.length)];
        ry[k] = y[i];
        rs[k++] = scores[i];
      }
    }
    draws.auc.push(rocAucScore(ry, rs));
    draws.averagePrecision.push(averagePrecisionScore(ry, rs));
    const p = confusionAt(ry, rs, threshold);
    if (p.kept > 0) draws.precision.push(p.precision);
    draws.recall.push(p.recall);
    draws.keptFraction.push(p.keptFraction);
    if (options.rechoose) draws.threshold.push(chooseThreshold(ry, rs, options.rechoose).threshold);
  }
  const lowQ = (1 - level) / 2, highQ = (1 + level) / 2;
  const interval = (key: keyof typeof estimate): Interval => {
    const sorted = draws[key].sort((a, b) => a - b);
    return {
      estimate: estimate[key],
      low: quantileSorted(sorted, lowQ),
      high: quantileSorted(sorted, highQ),
      resamples: sorted.length,
    };
  };
  return {
    resamples,
    seed,
    level,
    auc: interval("auc"),
    averagePrecision: interval("averagePrecision"),
    precision: interval("precision"),
    recall: interval("recall"),
    keptFraction: interval("keptFraction"),
    ...(options.rechoose ? { threshold: interval("threshold") } : {}),
  };
}
