/**
 * Threshold-free classifier metrics over plain number arrays, reproducing scikit-learn 1.2 point
 * for point: {@link rocCurve}, {@link precisionRecallCurve}, {@link rocAucScore},
 * {@link averagePrecisionScore}, and {@link youdenThreshold}. Labels are 0/1 (or booleans), 1 the
 * positive class; a higher score means "more likely positive".
 *
 * Sums are done in NumPy's order ({@link pairwiseSum}), so AUC and average precision agree with
 * scikit-learn to the last bit, not just to 1e-12. Degenerate input (empty, lengths that differ,
 * a label other than 0/1, a non-finite score, only one class present) throws a {@link MetricError}
 * where scikit-learn would warn and return NaN.
 *
 * @module
 */

import { MetricError } from "../core/errors.ts";
import { pairwiseSum } from "../core/numeric.ts";

export { MetricError, pairwiseSum };

/** A 0/1 label; `true`/`false` are taken as 1/0. */
export type BinaryLabel = number | boolean;

/** Result of {@link rocCurve}. `thresholds` is decreasing; `thresholds[0]` is `max(scores) + 1`. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

/** Result of {@link precisionRecallCurve}: `thresholds` increasing, one shorter than the others. */
export interface PrCurve {
  precision: number[];
  recall: number[];
  thresholds: number[];
}

/** Checks the inputs and returns labels as 0/1 numbers. */
function checkBinary(fn: string, labels: readonly BinaryLabel[], scores: readonly number[]): number[] {
  if (labels.length !== scores.length) {
    throw new MetricError(
      `${fn}: labels and scores differ in length (${labels.length} and ${scores.length})`,
    );
  }
  if (labels.length === 0) throw new MetricError(`${fn}: no samples`);
  let pos = 0;
  const y = labels.map((l, i) => {
    const v = l === true ? 1 : l === false ? 0 : l;
    if (v !== 0 && v !== 1) throw new MetricError(`${fn}: labels[${i}] is ${String(l)}, expected 0 or 1`);
    pos += v;
    return v;
  });
  scores.forEach((s, i) => {
    if (typeof s !== "number" || !Number.isFinite(s)) {
      throw new MetricError(`${fn}: scores[${i}] is ${String(s)}, expected a finite number`);
    }
  });
  if (pos === 0 || pos === y.length) {
    throw new MetricError(
      `${fn}: only one class present in labels (all ${pos ? 1 : 0}, n=${y.length}); ` +
        `the metric needs both positives and negatives`,
    );
  }
  return y;
}

/**
 * scikit-learn's `_binary_clf_curve`: sorts by score descending (ties: later sample first, as the
 * reverse of a stable ascending sort), and at the last sample of each run of equal scores records
 * false positives, true positives and that score. Thresholds are therefore the distinct scores,
 * decreasing; for a tie of `0` and `-0` the value of the earliest sample is the one kept.
 */
function binaryClfCurve(fn: string, labels: readonly BinaryLabel[], scores: readonly number[]) {
  const y = checkBinary(fn, labels, scores);
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || b - a);
  const fps: number[] = [], tps: number[] = [], thresholds: number[] = [];
  let tp = 0;
  for (let k = 0; k < n; k++) {
    tp += y[order[k]];
    if (k === n - 1 || scores[order[k]] !== scores[order[k + 1]]) {
      tps.push(tp);
      fps.push(k + 1 - tp);
      thresholds.push(scores[order[k]]);
    }
  }
  return { fps, tps, thresholds };
}

/**
 * The ROC curve as scikit-learn 1.2 `roc_curve(labels, scores, drop_intermediate=...)` returns it.
 * For each distinct score `t` (decreasing), predicting positive when `score >= t` gives
 * `tpr = TP / P` and `fpr = FP / N`; a first point `(0, 0)` is prepended with threshold
 * `max(scores) + 1`. With `dropIntermediate` (scikit-learn's default, off here) points collinear
 * with both neighbours in (fps, tps) are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocCurve } from "./metrics.ts";
 * const r = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * assert.deepEqual(r.thresholds, [1.8, 0.8, 0.4, 0.35, 0.1]);
 * assert.deepEqual(r.tpr, [0, 0.5, 0.5, 1, 1]);
 * assert.deepEqual(r.fpr, [0, 0, 0.5, 0.5, 1]);
 * ```
 */
export function rocCurve(
  labels: readonly BinaryLabel[],
  scores: readonly number[],
  options: { dropIntermediate?: boolean } = {},
): RocCurve {
  return roc("rocCurve", labels, scores, options.dropIntermediate ?? false);
}

function roc(fn: string, labels: readonly BinaryLabel[], scores: readonly number[], drop: boolean): RocCurve {
  let { fps, tps, thresholds } = binaryClfCurve(fn, labels, scores);
  if (drop && fps.length > 2) {
    const keep = fps.map((_, i) =>
      i === 0 || i === fps.length - 1 ||
      fps[i - 1] - 2 * fps[i] + fps[i + 1] !== 0 || tps[i - 1] - 2 * tps[i] + tps[i + 1] !== 0
    );
    fps = fps.filter((_, i) => keep[i]);
    tps = tps.filter((_, i) => keep[i]);
    thresholds = thresholds.filter((_, i) => keep[i]);
  }
  const nNeg = fps[fps.length - 1], nPos = tps[tps.length - 1];
  return {
    fpr: [0, ...fps.map((f) => f / nNeg)],
    tpr: [0, ...tps.map((t) => t / nPos)],
    thresholds: [thresholds[0] + 1, ...thresholds],
  };
}

/**
 * Precision and recall as scikit-learn 1.2 `precision_recall_curve(labels, scores)` returns them:
 * for each distinct score `t`, increasing, `precision = TP / (TP + FP)` and `recall = TP / P` when
 * predicting positive for `score >= t`; a last point `(precision 1, recall 0)` with no threshold is
 * appended. Every distinct score is a point (scikit-learn ≥ 1.1 no longer stops at full recall).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { precisionRecallCurve } from "./metrics.ts";
 * const r = precisionRecallCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * assert.deepEqual(r.thresholds, [0.1, 0.35, 0.4, 0.8]);
 * assert.deepEqual(r.precision, [0.5, 2 / 3, 0.5, 1, 1]);
 * assert.deepEqual(r.recall, [1, 1, 0.5, 0.5, 0]);
 * ```
 */
export function precisionRecallCurve(labels: readonly BinaryLabel[], scores: readonly number[]): PrCurve {
  return pr("precisionRecallCurve", labels, scores);
}

function pr(fn: string, labels: readonly BinaryLabel[], scores: readonly number[]): PrCurve {
  const { fps, tps, thresholds } = binaryClfCurve(fn, labels, scores);
  const nPos = tps[tps.length - 1];
  const precision = tps.map((t, i) => t / (t + fps[i]));
  const recall = tps.map((t) => t / nPos);
  return {
    precision: [...precision.reverse(), 1],
    recall: [...recall.reverse(), 0],
    thresholds: [...thresholds].reverse(),
  };
}

/**
 * Area under the ROC curve, as scikit-learn 1.2 `roc_auc_score(labels, scores)`: the trapezoidal
 * area under `rocCurve(..., {dropIntermediate: true})`, summed as `np.trapz` does. Equals the
 * probability that a random positive scores above a random negative, ties counting one half.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocAucScore } from "./metrics.ts";
 * assert.equal(rocAucScore([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
 * assert.equal(rocAucScore([0, 1], [0.5, 0.5]), 0.5);
 * ```
 */
export function rocAucScore(labels: readonly BinaryLabel[], scores: readonly number[]): number {
  const { fpr, tpr } = roc("rocAucScore", labels, scores, true);
  const terms = new Float64Array(fpr.length - 1);
  for (let i = 0; i < terms.length; i++) terms[i] = (fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2;
  return pairwiseSum(terms);
}

/**
 * Average precision, as scikit-learn 1.2 `average_precision_score(labels, scores)`:
 * `AP = Σ_n (R_n − R_{n−1}) · P_n` over the points of {@link precisionRecallCurve} (step-wise, no
 * interpolation), i.e. `-sum(diff(recall) * precision[:-1])`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { averagePrecisionScore } from "./metrics.ts";
 * // ranks: 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg) → (1 + 2/3) / 2
 * assert.equal(averagePrecisionScore([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.5 * 1 + 0.5 * (2 / 3));
 * ```
 */
export function averagePrecisionScore(labels: readonly BinaryLabel[], scores: readonly number[]): number {
  const { precision, recall } = pr("averagePrecisionScore", labels, scores);
  const terms = new Float64Array(recall.length - 1);
  for (let i = 0; i < terms.length; i++) terms[i] = (recall[i + 1] - recall[i]) * precision[i];
  return -pairwiseSum(terms);
}

/**
 * The threshold maximising Youden's J = TPR − FPR on `rocCurve(labels, scores)` (all points, no
 * dropping): `thresholds[argmax(tpr - fpr)]`, the first (highest threshold) on ties. Predict
 * positive when `score >= threshold`. If no threshold beats chance, this is `max(scores) + 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { youdenThreshold } from "./metrics.ts";
 * // at 0.35: tpr 1, fpr 0.5 → J = 0.5, the same as at 0.8 (tpr 0.5, fpr 0), which comes first
 * assert.equal(youdenThreshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.8);
 * assert.equal(youdenThreshold([0, 1, 0, 1], [1, 2, 3, 4]), 4);
 * ```
 */
export function youdenThreshold(labels: readonly BinaryLabel[], scores: readonly number[]): number {
  const { fpr, tpr, thresholds } = roc("youdenThreshold", labels, scores, false);
  let best = 0;
  for (let i = 1; i < thresholds.length; i++) if (tpr[i] - fpr[i] > tpr[best] - fpr[best]) best = i;
  return thresholds[best];
}
