/**
 * Threshold choice: the stated strategies that turn one heuristic's scores and the hand labels into
 * a threshold, and the bookkeeping around it (operating points, orientation, the rule `score
 * --thresholds` applies).
 *
 * Conventions, shared with `metrics.ts`: labels are 0/1 with 1 the positive class (`usable = yes`,
 * an image to keep); scores are *oriented*, higher meaning better, and an image is **kept when
 * `score >= threshold`**. A column whose registry direction is `lower_is_better` is negated first
 * ({@link orientScores}); {@link ruleFor} turns an oriented threshold back into the column's own
 * units as `min` (kept when value ≥ min) or `max` (kept when value ≤ max).
 *
 * Candidate thresholds are those of `rocCurve`: every distinct score, plus `max(scores) + 1`, which
 * keeps nothing. Where a strategy's optimum is reached at several candidates, the rule for the tie
 * is stated in its doc.
 *
 * @module
 */
import { type BinaryLabel, MetricError, rocCurve, youdenThreshold } from "./metrics.ts";
import { HEURISTICS } from "../heuristics/registry.ts";
import type { Direction } from "../heuristics/types.ts";
import type { ThresholdRule } from "../score/rules.ts";
import { WinnowError } from "../core/errors.ts";

/** Names of the strategies of {@link chooseThreshold}. */
export const STRATEGIES = ["youden", "cost", "precision", "recall", "keep"] as const;

/** One strategy name. */
export type Strategy = typeof STRATEGIES[number];

/** Which strategy and its parameters. */
export interface StrategyOptions {
  /** Default `youden`. */
  strategy?: Strategy;
  /** `precision`: the precision to reach; `recall`: the recall to reach; `keep`: the fraction to keep. In (0, 1]. */
  target?: number;
  /** `cost`: cost of one false accept (a bad image kept). Default 1. */
  costFalseAccept?: number;
  /** `cost`: cost of one false reject (a good image thrown away). Default 1. */
  costFalseReject?: number;
}

/** A threshold option that is out of range or missing; the message names it. */
export class ThresholdChoiceError extends WinnowError {}

/** The confusion counts and rates of keeping `score >= threshold`. */
export interface OperatingPoint {
  threshold: number;
  /** Good images kept, bad images kept, good images rejected, bad images rejected. */
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** tp + fp. */
  kept: number;
  /** tp / kept: share of kept images that are good; NaN when nothing is kept. */
  precision: number;
  /** tp / (tp + fn): share of good images kept (true-positive rate). */
  recall: number;
  /** fp / (fp + tn): share of bad images kept (false-positive rate). */
  fpr: number;
  /** kept / n. */
  keptFraction: number;
  /** Youden's J = recall − fpr. */
  youdenJ: number;
}

/** What {@link chooseThreshold} chose. */
export interface ThresholdChoice {
  strategy: Strategy;
  /** The oriented threshold: keep `score >= threshold`. */
  threshold: number;
  /** The operating point of `threshold` on the data it was chosen on. */
  point: OperatingPoint;
  /** False when a `precision` target cannot be reached; the threshold is then the most precise one. */
  reached: boolean;
  /** `cost` only: total cost `costFalseAccept · fp + costFalseReject · fn` at the threshold. */
  cost?: number;
  /** The strategy stated in words with its parameters. */
  description: string;
}

function toBinary(labels: readonly BinaryLabel[]): number[] {
  return labels.map((l) => (l === true ? 1 : l === false ? 0 : l));
}

/**
 * The operating point of keeping `score >= threshold` (any threshold, not only a candidate). Unlike
 * the curves, it accepts a single class (rates with a zero denominator are NaN).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionAt } from "./thresholds.ts";
 * const p = confusionAt([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.35);
 * assert.deepEqual([p.tp, p.fp, p.kept, p.precision, p.recall, p.keptFraction], [2, 1, 3, 2 / 3, 1, 0.75]);
 * ```
 */
export function confusionAt(
  labels: readonly BinaryLabel[],
  scores: readonly number[],
  threshold: number,
): OperatingPoint {
  if (labels.length !== scores.length) {
    throw new MetricError(
      `confusionAt: labels and scores differ in length (${labels.length}, ${scores.length})`,
    );
  }
  const y = toBinary(labels);
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < y.length; i++) {
    const keep = scores[i] >= threshold;
    if (y[i] === 1) keep ? tp++ : fn++;
    else keep ? fp++ : tn++;
  }
  return point(threshold, tp, fp, fn, tn);
}

function point(threshold: number, tp: number, fp: number, fn: number, tn: number): OperatingPoint {
  const kept = tp + fp, n = tp + fp + fn + tn;
  const recall = tp / (tp + fn), fpr = fp / (fp + tn);
  return {
    threshold,
    tp,
    fp,
    fn,
    tn,
    kept,
    precision: kept ? tp / kept : NaN,
    recall,
    fpr,
    keptFraction: kept / n,
    youdenJ: recall - fpr,
  };
}

/**
 * Every candidate operating point, thresholds decreasing: `max(scores) + 1` (keeps nothing), then
 * each distinct score. Exactly the points of `rocCurve(labels, scores)`, with counts. Needs both
 * classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { operatingPoints } from "./thresholds.ts";
 * const pts = operatingPoints([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * assert.deepEqual(pts.map((p) => p.threshold), [1.8, 0.8, 0.4, 0.35, 0.1]);
 * assert.deepEqual(pts.map((p) => p.kept), [0, 1, 2, 3, 4]);
 * ```
 */
export function operatingPoints(labels: readonly BinaryLabel[], scores: readonly number[]): OperatingPoint[] {
  const roc = rocCurve(labels, scores);
  const y = toBinary(labels);
  const pos = y.reduce((s, v) => s + v, 0), neg = y.length - pos;
  return roc.thresholds.map((t, i) => {
    const tp = Math.round(roc.tpr[i] * pos), fp = Math.round(roc.fpr[i] * neg);
    return point(t, tp, fp, pos - tp, neg - fp);
  });
}

function checkTarget(name: string, target: number | undefined): number {
  if (target === undefined) throw new ThresholdChoiceError(`strategy ${name}: needs a target in (0, 1]`);
  if (!(target > 0 && target <= 1)) {
    throw new ThresholdChoiceError(`strategy ${name}: target must be in (0, 1], got ${target}`);
  }
  return target;
}

/**
 * Chooses a threshold (oriented: keep `score >= threshold`) by one of these strategies:
 *
 * - `youden` — maximise Youden's J = TPR − FPR (recall minus the share of bad images kept), as
 *   `youdenThreshold` in `metrics.ts` (J compared in floating point, as `np.argmax(tpr - fpr)`);
 *   exact ties: the highest threshold.
 * - `cost` — minimise `costFalseAccept · FP + costFalseReject · FN` (FP: bad images kept, FN: good
 *   images rejected); ties: the highest threshold. With equal costs this minimises errors.
 * - `precision` — among thresholds whose precision TP / (TP + FP) is ≥ `target`, the one with the
 *   largest recall; ties: the highest threshold (the fewest bad images kept). When no threshold
 *   reaches the target, `reached` is false and the threshold of the largest precision (ties: the
 *   largest recall) is returned.
 * - `recall` — among thresholds whose recall is ≥ `target`, the one with the largest precision;
 *   ties: the largest recall. Always reached (the lowest score keeps everything).
 * - `keep` — the highest threshold that keeps at least a fraction `target` of all images (ties in
 *   the scores can make it keep more).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseThreshold } from "./thresholds.ts";
 * const y = [0, 0, 1, 0, 1, 1], s = [1, 2, 3, 4, 5, 6];
 * assert.equal(chooseThreshold(y, s).threshold, 3); // J = 1 − 1/3 (in floating point above 2/3 − 0 at 5)
 * assert.equal(chooseThreshold(y, s, { strategy: "recall", target: 1 }).threshold, 3);
 * assert.equal(chooseThreshold(y, s, { strategy: "keep", target: 0.5 }).threshold, 4);
 * const c = chooseThreshold(y, s, { strategy: "cost", costFalseAccept: 1, costFalseReject: 3 });
 * assert.deepEqual([c.threshold, c.cost], [3, 1]);
 * ```
 */
export function chooseThreshold(
  labels: readonly BinaryLabel[],
  scores: readonly number[],
  options: StrategyOptions = {},
): ThresholdChoice {
  const strategy = options.strategy ?? "youden";
  const pts = operatingPoints(labels, scores);
  const pick = (i: number, description: string, reached = true, cost?: number): ThresholdChoice => ({
    strategy,
    threshold: pts[i].threshold,
    point: pts[i],
    reached,
    ...(cost !== undefined ? { cost } : {}),
    description,
  });
  switch (strategy) {
    case "youden": {
      const t = youdenThreshold(labels, scores);
      return pick(pts.findIndex((p) => p.threshold === t), "maximise Youden's J = TPR − FPR");
    }
    case "cost": {
      const fa = options.costFalseAccept ?? 1, fr = options.costFalseReject ?? 1;
      if (!(fa >= 0 && fr >= 0 && fa + fr > 0 && Number.isFinite(fa + fr))) {
        throw new ThresholdChoiceError(
          `strategy cost: costs must be finite, ≥ 0 and not both 0, got false accept ${fa}, false reject ${fr}`,
        );
      }
      let best = 0, bestCost = Infinity;
      pts.forEach((p, i) => {
        const c = fa * p.fp + fr * p.fn;
        if (c < bestCost) [best, bestCost] = [i, c];
      });
      return pick(
        best,
        `minimise ${fa} × false accepts + ${fr} × false rejects`,
        true,
        bestCost,
      );
    }
    case "precision": {
      const target = checkTarget("precision", options.target);
      let best = -1;
      pts.forEach((p, i) => {
        if (p.kept > 0 && p.precision >= target && (best < 0 || p.recall > pts[best].recall)) best = i;
      });
      const text = `largest recall with precision ≥ ${target}`;
      if (best >= 0) return pick(best, text);
      pts.forEach((p, i) => {
        if (p.kept === 0) return;
        if (
          best < 0 || p.precision > pts[best].precision ||
          (p.precision === pts[best].precision && p.recall > pts[best].recall)
        ) best = i;
      });
      return pick(best, `${text} (not reachable: the most precise threshold instead)`, false);
    }
    case "recall": {
      const target = checkTarget("recall", options.target);
      let best = -1;
      pts.forEach((p, i) => {
        if (p.recall < target || p.kept === 0) return;
        if (
          best < 0 || p.precision > pts[best].precision ||
          (p.precision === pts[best].precision && p.recall > pts[best].recall)
        ) best = i;
      });
      return pick(best, `largest precision with recall ≥ ${target}`);
    }
    case "keep": {
      const target = checkTarget("keep", options.target);
      // Kept fractions rise along `pts`; the first at or above the target has the highest threshold.
      const i = pts.findIndex((p) => p.keptFraction >= target - 1e-12);
      return pick(i, `keep at least ${target * 100}% of the images`);
    }
    default:
      throw new ThresholdChoiceError(
        `unknown strategy "${strategy}"; known: ${STRATEGIES.join(", ")}`,
      );
  }
}

/**
 * The registry direction of a score column (`lower_is_better`, …), or `undefined` for a column no
 * heuristic declares.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { columnDirection } from "./thresholds.ts";
 * assert.equal(columnDirection("laplacian_var"), "higher_is_better");
 * assert.equal(columnDirection("dark_frac"), "lower_is_better");
 * assert.equal(columnDirection("my_column"), undefined);
 * ```
 */
export function columnDirection(column: string): Direction | undefined {
  for (const h of HEURISTICS) for (const o of h.outputs) if (o.name === column) return o.direction;
  return undefined;
}

/**
 * The error type a failed rule on `column` is counted under: the registry's threshold `errorType`
 * for that output, else its heuristic's `errorType`, else `other`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { columnErrorType } from "./thresholds.ts";
 * assert.equal(columnErrorType("laplacian_var"), "blur");
 * assert.equal(columnErrorType("face_min_log10_area"), "small_face");
 * ```
 */
export function columnErrorType(column: string): string {
  for (const h of HEURISTICS) {
    if (!h.outputs.some((o) => o.name === column)) continue;
    return h.thresholds.find((t) => t.output === column)?.errorType ?? h.errorType;
  }
  return "other";
}

/**
 * Scores oriented so that higher is better: values of a `lower_is_better` column are negated,
 * others kept. Non-numbers become NaN (the caller drops them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orientScores } from "./thresholds.ts";
 * assert.deepEqual(orientScores([0.1, 0.7], "lower_is_better"), [-0.1, -0.7]);
 * assert.deepEqual(orientScores([3, null], "higher_is_better"), [3, NaN]);
 * ```
 */
export function orientScores(values: readonly unknown[], direction: Direction | undefined): number[] {
  const sign = direction === "lower_is_better" ? -1 : 1;
  return values.map((v) => (typeof v === "number" && Number.isFinite(v) ? sign * v : NaN));
}

/**
 * An oriented threshold in the column's own units, as the rule `score --thresholds` applies:
 * `{min: t}` (kept when value ≥ t) for a column that is not lower-is-better, `{max: −t}` (kept when
 * value ≤ −t) for one that is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ruleFor } from "./thresholds.ts";
 * assert.deepEqual(ruleFor("dark_frac", -0.4, "lower_is_better", "underexposed", "test"), {
 *   column: "dark_frac", max: 0.4, error_type: "underexposed", source: "test",
 * });
 * ```
 */
export function ruleFor(
  column: string,
  orientedThreshold: number,
  direction: Direction | undefined,
  errorType: string,
  source: string,
): ThresholdRule {
  return direction === "lower_is_better"
    ? { column, max: -orientedThreshold + 0, error_type: errorType, source }
    : { column, min: orientedThreshold, error_type: errorType, source };
}
