/**
 * Calibration of one score column: threshold choice by a stated strategy, bootstrap intervals,
 * out-of-fold rates, and the rule `score --thresholds` applies, as the numbers of the JSON output.
 *
 * @module
 */
import type { Direction } from "../heuristics/types.ts";
import type { ThresholdRule } from "../score/rules.ts";
import type { JoinedLabel } from "../labels/join.ts";
import { WinnowError } from "../core/errors.ts";
import { rocAucScore } from "./metrics.ts";
import {
  chooseThreshold,
  columnDirection,
  columnErrorType,
  orientScores,
  ruleFor,
  type StrategyOptions,
} from "./thresholds.ts";
import { bootstrapCalibration, type BootstrapResult, type Interval } from "./bootstrap.ts";
import { crossValidateThreshold, type CrossValidation, type Rates } from "./crossval.ts";

/** A calibration that cannot run (no rows joined, a column absent, one class only); says why. */
export class CalibrationError extends WinnowError {}

/** The settings of {@link calibrateColumn} (a part of `CalibrateOptions`). */
export interface ColumnOptions {
  /** Threshold strategy. Default Youden's J. */
  strategy?: StrategyOptions;
  /** Bootstrap resamples. Default 1000. */
  bootstrap?: number;
  /** Cross-validation folds. Default 5 (fewer when a class has fewer images). */
  folds?: number;
  /** Seed of resampling and fold assignment. Default 0. */
  seed?: number;
}

/** Numbers of one calibrated column (keys as in the JSON output). */
export interface ColumnResult {
  column: string;
  direction: Direction | "unknown";
  /** Labeled images with a value in this column, and how many had none. */
  n: number;
  positives: number;
  negatives: number;
  missing: number;
  auc: number;
  auc_ci: [number, number];
  average_precision: number;
  average_precision_ci: [number, number];
  /** Threshold in the column's own units: kept when value ≥ it (`min`) or ≤ it (`max`). */
  threshold: number;
  threshold_kind: "min" | "max";
  /** Percentile interval of the threshold re-chosen on each bootstrap resample (column units). */
  threshold_ci: [number, number];
  strategy: string;
  target_reached: boolean;
  precision: number;
  precision_ci: [number, number];
  recall: number;
  recall_ci: [number, number];
  kept_fraction: number;
  kept_fraction_ci: [number, number];
  false_positive_rate: number;
  youden_j: number;
  in_sample: RatesJson;
  out_of_fold: RatesJson & { per_fold: (RatesJson & { fold: number; n: number; threshold: number })[] };
  error_type: string;
  rule: ThresholdRule;
}

/** Rates as written to JSON. */
export interface RatesJson {
  precision: number | null;
  recall: number | null;
  kept_fraction: number | null;
  false_positive_rate: number | null;
  youden_j: number | null;
}

/**
 * Rates as JSON numbers (null where undefined).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ratesJson } from "./column.ts";
 * const r = ratesJson({ precision: 1, recall: 0.5, keptFraction: 0.25, fpr: 0, youdenJ: 0.5 });
 * assert.deepEqual([r.precision, r.kept_fraction], [1, 0.25]);
 * assert.equal(ratesJson({ precision: NaN, recall: 0, keptFraction: 0, fpr: 0, youdenJ: 0 }).precision, null);
 * ```
 */
export function ratesJson(
  r: Pick<Rates, "precision" | "recall" | "keptFraction" | "fpr" | "youdenJ">,
): RatesJson {
  return {
    precision: num(r.precision),
    recall: num(r.recall),
    kept_fraction: num(r.keptFraction),
    false_positive_rate: num(r.fpr),
    youden_j: num(r.youdenJ),
  };
}

const ci = (i: Interval): [number, number] => [i.low, i.high];
const num = (x: number) => (Number.isFinite(x) ? x : null);

/**
 * Converts an oriented threshold (lower-is-better columns negated) back to column units.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toColumn } from "./column.ts";
 * assert.equal(toColumn(-0.6, "lower_is_better"), 0.6);
 * assert.equal(toColumn(40, "higher_is_better"), 40);
 * ```
 */
export function toColumn(t: number, direction: Direction | undefined): number {
  return direction === "lower_is_better" ? -t + 0 : t;
}

function columnCi(i: Interval, direction: Direction | undefined): [number, number] {
  return direction === "lower_is_better" ? [-i.high + 0, -i.low + 0] : [i.low, i.high];
}

/** One column's calibration: its JSON numbers and what the report draws from. */
export interface ColumnCalibration {
  result: ColumnResult;
  y: number[];
  s: number[];
  boot: BootstrapResult;
  cv: CrossValidation;
}

/**
 * Calibrates one score column on the joined rows: orients it by its registry direction, chooses the
 * threshold by `options.strategy`, and adds bootstrap intervals and out-of-fold rates. Throws
 * {@link CalibrationError} when a class is missing or too small for cross-validation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { calibrateColumn } from "./column.ts";
 * const rows = [1, 2, 3, 4, 5, 6].map((v) => ({
 *   path: `/d/${v}.png`, usable: v > 3, quality: v > 3 ? 4 : 2, errors: "", error: null, values: { laplacian_var: v * 10 },
 * }));
 * const { result } = calibrateColumn(rows, "laplacian_var", { bootstrap: 20, folds: 2 }, "demo");
 * assert.deepEqual([result.auc, result.threshold, result.threshold_kind], [1, 40, "min"]);
 * ```
 */
export function calibrateColumn(
  rows: readonly JoinedLabel[],
  column: string,
  options: ColumnOptions,
  source: string,
): ColumnCalibration {
  const direction = columnDirection(column);
  const usableRows = rows.filter((r) => r.error === null && r.values[column] !== null);
  const y = usableRows.map((r) => (r.usable ? 1 : 0));
  const s = orientScores(usableRows.map((r) => r.values[column]), direction);
  const positives = y.reduce((a: number, v) => a + v, 0), negatives = y.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new CalibrationError(
      `${column}: ${usableRows.length} labeled images have a value, ${positives} usable and ${negatives} not; ` +
        `calibration needs both (is the column filled in the score table?)`,
    );
  }
  const strategy = options.strategy ?? { strategy: "youden" };
  const choice = chooseThreshold(y, s, strategy);
  const seed = options.seed ?? 0;
  const boot = bootstrapCalibration(y, s, choice.threshold, {
    resamples: options.bootstrap ?? 1000,
    seed,
    rechoose: strategy,
  });
  const folds = Math.min(options.folds ?? 5, positives, negatives);
  if (folds < 2) {
    throw new CalibrationError(`${column}: cross-validation needs at least 2 images of each class`);
  }
  const cv = crossValidateThreshold(y, s, strategy, { folds, seed });
  const errorType = columnErrorType(column);
  const p = choice.point;
  const rule = ruleFor(
    column,
    choice.threshold,
    direction,
    errorType,
    `${source}; ${choice.description}; AUC ${rocAucScore(y, s).toFixed(3)} on ${y.length} images`,
  );
  const result: ColumnResult = {
    column,
    direction: direction ?? "unknown",
    n: y.length,
    positives,
    negatives,
    missing: rows.length - usableRows.length,
    auc: boot.auc.estimate,
    auc_ci: ci(boot.auc),
    average_precision: boot.averagePrecision.estimate,
    average_precision_ci: ci(boot.averagePrecision),
    threshold: toColumn(choice.threshold, direction),
    threshold_kind: direction === "lower_is_better" ? "max" : "min",
    threshold_ci: columnCi(boot.threshold!, direction),
    strategy: choice.description,
    target_reached: choice.reached,
    precision: p.precision,
    precision_ci: ci(boot.precision),
    recall: p.recall,
    recall_ci: ci(boot.recall),
    kept_fraction: p.keptFraction,
    kept_fraction_ci: ci(boot.keptFraction),
    false_positive_rate: p.fpr,
    youden_j: p.youdenJ,
    in_sample: ratesJson(cv.inSample),
    out_of_fold: {
      ...ratesJson(cv.outOfFold),
      per_fold: cv.perFold.map((f) => ({
        fold: f.fold,
        n: f.n,
        threshold: toColumn(f.threshold, direction),
        ...ratesJson(f),
      })),
    },
    error_type: errorType,
    rule,
  };
  return { result, y, s, boot, cv };
}
