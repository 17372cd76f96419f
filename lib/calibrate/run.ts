/**
 * The calibrate job, as `deno task calibrate` runs it: hand labels and a score table in; per
 * heuristic column the ROC/PR curves, AUC and average precision with bootstrap intervals, a
 * threshold chosen by a stated strategy with its intervals and out-of-fold numbers (`column.ts`);
 * optionally a combined logistic filter and the face analysis (`faces.ts`); out come a typed
 * result ({@link CalibrationResult}, the JSON document) and a thresholds file for `score
 * --thresholds`. The HTML report is drawn from the run in `lib/report/calibration.ts`.
 *
 * Labels join scores on the resolved absolute `path` (`lib/labels/join.ts`); the positive class is
 * `usable = yes`; a column whose registry direction is `lower_is_better` is negated before ranking.
 *
 * @module
 */
import { shownPath } from "../core/files.ts";
import pl from "nodejs-polars";
import { loadImageLabels } from "../labels/format.ts";
import { type JoinedLabel, joinLabels } from "../labels/join.ts";
import { readResults } from "../score/results.ts";
import { applyRules, saveThresholds, type ThresholdRule } from "../score/rules.ts";
import { columnDirection, orientScores, type StrategyOptions } from "./thresholds.ts";
import { ratesOf } from "./crossval.ts";
import { type CombinedEvaluation, crossValidateCombined } from "./logistic.ts";
import {
  calibrateColumn,
  CalibrationError,
  type ColumnCalibration,
  type ColumnOptions,
  type ColumnResult,
  type RatesJson,
  ratesJson,
} from "./column.ts";
import { type FaceAnalysis, faceAnalysis, type FaceCalibrationJson } from "./faces.ts";

export { CalibrationError, type ColumnCalibration, type ColumnResult, type RatesJson };

/** Options of {@link runCalibration}. */
export interface CalibrateOptions extends ColumnOptions {
  /** `images.csv` hand labels. */
  labels: string;
  /** Score table written by `score` (.csv, .jsonl, .parquet). */
  scores: string;
  /** Score columns to calibrate, e.g. `["laplacian_var"]`. The first is the headline of the JSON. */
  heuristics: string[];
  /** Also fit and evaluate a logistic filter over all the columns. */
  combine?: boolean;
  /** Regularisation of the combined filter (scikit-learn's C). Default 1. */
  C?: number;
  /** Reject label rows whose image file does not exist. Default true. */
  checkFiles?: boolean;
  /** Write the rules here (the file `score --thresholds` reads). */
  outThresholds?: string;
  /** Per-face table from `score --faces` and face hand labels: adds the face section. */
  faces?: string;
  /** Face hand labels (`faces.csv`), with `faces`. */
  faceLabels?: string;
}

/** The `combined` block of {@link CalibrationResult}: the logistic filter against single columns. */
export interface CombinedJson {
  columns: string[];
  /** Rows with a value in every column. */
  n: number;
  C: number;
  folds: number;
  out_of_fold_auc: number;
  mean_fold_auc: number;
  in_sample_auc: number;
  single_pooled_auc: Record<string, number>;
  single_mean_fold_auc: Record<string, number>;
  per_fold: CombinedEvaluation["perFold"];
  coefficients_standardised: Record<string, number>;
  intercept_standardised: number;
  note: string;
}

/**
 * The JSON document of a calibration (`deno task calibrate --json` prints it). The top-level
 * `auc`, `average_precision`, `threshold`, … are the first column's; `heuristics` has every column.
 */
export interface CalibrationResult extends
  Pick<
    ColumnResult,
    | "auc"
    | "auc_ci"
    | "average_precision"
    | "average_precision_ci"
    | "threshold"
    | "threshold_kind"
    | "threshold_ci"
    | "precision"
    | "precision_ci"
    | "recall"
    | "recall_ci"
    | "kept_fraction"
    | "kept_fraction_ci"
    | "in_sample"
  > {
  winnow: "calibration";
  version: 1;
  /** The first column's name; the fields picked from {@link ColumnResult} are its numbers. */
  heuristic: string;
  out_of_fold: RatesJson & { per_fold: undefined };
  strategy: StrategyOptions & { strategy: string; description: string };
  bootstrap: { resamples: number; seed: number; level: number };
  cross_validation: { folds: number; seed: number; stratified: true };
  labels: { file: string; read: number; kept: number; rejected: number; issues: string[] };
  join: {
    scores_file: string;
    score_rows: number;
    labeled_and_scored: number;
    labeled_not_scored: number;
    labeled_not_scored_examples: string[];
    unreadable: number;
    usable: number;
    not_usable: number;
  };
  heuristics: ColumnResult[];
  rules_applied: { rules: number; tp: number; fp: number; fn: number; tn: number } & RatesJson;
  per_quality: Record<string, unknown>[];
  combined?: CombinedJson;
  faces?: FaceCalibrationJson;
  /** Set when the thresholds file was written. */
  thresholds_file?: string;
  /** Set by `writeCalibrationReport` when the report was written. */
  report_file?: string;
}

/** What {@link runCalibration} returns: the JSON result, the pieces the CLI prints, and what the report draws. */
export interface CalibrationRun {
  /** The JSON document (`--json` prints it). */
  result: CalibrationResult;
  columns: ColumnResult[];
  rules: ThresholdRule[];
  /** Every label problem, `file:line: field: problem`. */
  labelIssues: string[];
  /** The labeled images joined to their scores. */
  rows: JoinedLabel[];
  /** Per column, in order: the numbers and the oriented labels and scores they came from. */
  work: ColumnCalibration[];
  /** The rules' verdict on each joined row. */
  verdicts: { kept: boolean; reasons: string[] }[];
  /** The combined logistic filter, when asked for and possible. */
  combined?: { evaluation: CombinedEvaluation; rows: number };
  /** The face analysis, when `faces` and `faceLabels` were given. */
  faces?: FaceAnalysis;
}

/**
 * Runs a calibration: loads and validates labels (bad rows reported by file and line and counted,
 * good ones kept), joins the score table, calibrates each column, applies the rules together,
 * optionally fits the combined filter and the face analysis, and writes the thresholds file when
 * asked. The HTML report is drawn from the returned run by `writeCalibrationReport`
 * (`lib/report/calibration.ts`).
 *
 * @example
 * ```ts ignore
 * import { runCalibration } from "./run.ts";
 * const run = await runCalibration({
 *   labels: "data/labels/images.csv", scores: "scores.csv", heuristics: ["laplacian_var"],
 *   outThresholds: "thresholds.json",
 * });
 * console.log(run.result.auc, run.result.threshold);
 * ```
 */
export async function runCalibration(options: CalibrateOptions): Promise<CalibrationRun> {
  if (options.heuristics.length === 0) {
    throw new CalibrationError("give at least one score column to calibrate");
  }
  const labels = await loadImageLabels(options.labels, { checkFiles: options.checkFiles ?? true });
  const labelIssues = labels.issues.map((i) => i.message);
  const scores = await readResults(options.scores);
  if (scores.length === 0) throw new CalibrationError(`${options.scores}: no score rows`);
  const present = new Set(scores.flatMap((r) => Object.keys(r)));
  for (const c of options.heuristics) {
    if (!present.has(c)) {
      throw new CalibrationError(
        `${options.scores}: no column "${c}"; columns: ${[...present].join(", ")}`,
      );
    }
  }
  const rows = joinLabels(labels.rows, scores, options.heuristics);
  if (rows.length === 0) {
    throw new CalibrationError(
      `no labeled image of ${options.labels} is in ${options.scores} (joined on the absolute path; ` +
        `label paths resolve against the label file's folder)`,
    );
  }
  const joinedPaths = new Set(rows.map((r) => r.path));
  const unscored = labels.rows.filter((l) => !joinedPaths.has(l.path)).map((l) => l.path);
  const scoreErrors = rows.filter((r) => r.error !== null).length;
  const source = `calibrate on ${options.labels}`;
  const work = options.heuristics.map((c) => calibrateColumn(rows, c, options, source));
  const columns = work.map((w) => w.result);
  const rules = columns.map((c) => c.rule);

  // The rules together, as `score --thresholds` applies them (an image fails if any rule fails).
  const verdicts = rows.map((r) => applyRules({ ...r.values, error: r.error }, rules));
  const applied = confusion(rows, verdicts);

  const combined = options.combine && options.heuristics.length >= 2
    ? combinedFilter(rows, options)
    : undefined;

  const first = columns[0];
  const strategy = options.strategy ?? { strategy: "youden" };
  const result: CalibrationResult = {
    winnow: "calibration",
    version: 1,
    heuristic: first.column,
    auc: first.auc,
    auc_ci: first.auc_ci,
    average_precision: first.average_precision,
    average_precision_ci: first.average_precision_ci,
    threshold: first.threshold,
    threshold_kind: first.threshold_kind,
    threshold_ci: first.threshold_ci,
    precision: first.precision,
    precision_ci: first.precision_ci,
    recall: first.recall,
    recall_ci: first.recall_ci,
    kept_fraction: first.kept_fraction,
    kept_fraction_ci: first.kept_fraction_ci,
    in_sample: first.in_sample,
    out_of_fold: { ...first.out_of_fold, per_fold: undefined },
    strategy: { ...strategy, strategy: strategy.strategy ?? "youden", description: first.strategy },
    bootstrap: { resamples: work[0].boot.resamples, seed: work[0].boot.seed, level: work[0].boot.level },
    cross_validation: { folds: work[0].cv.folds, seed: work[0].cv.seed, stratified: true },
    labels: {
      file: options.labels,
      read: labels.read,
      kept: labels.kept,
      rejected: labels.rejected,
      issues: labelIssues,
    },
    join: {
      scores_file: options.scores,
      score_rows: scores.length,
      labeled_and_scored: rows.length,
      labeled_not_scored: unscored.length,
      labeled_not_scored_examples: unscored.slice(0, 5),
      unreadable: scoreErrors,
      usable: rows.filter((r) => r.usable).length,
      not_usable: rows.filter((r) => !r.usable).length,
    },
    heuristics: columns,
    rules_applied: { rules: rules.length, ...applied, ...ratesJson(ratesOf(applied)) },
    per_quality: perQuality(rows, options.heuristics),
  };
  if (combined) result.combined = combinedJson(combined.evaluation, combined.rows);

  let faces: FaceAnalysis | undefined;
  if (options.faces && options.faceLabels) {
    faces = await faceAnalysis(options.faces, options.faceLabels);
    result.faces = faces.json;
    labelIssues.push(...faces.issues);
  }

  if (options.outThresholds) {
    await saveThresholds(options.outThresholds, rules, {
      calibration: {
        labels: shownPath(options.labels),
        scores: shownPath(options.scores),
        strategy: first.strategy,
        images: rows.length,
      },
    });
    result.thresholds_file = options.outThresholds;
  }
  return { result, columns, rules, labelIssues, rows, work, verdicts, combined, faces };
}

/** The combined logistic filter over every column, on the rows that have them all (none when a class is too small). */
function combinedFilter(
  rows: readonly JoinedLabel[],
  options: CalibrateOptions,
): { evaluation: CombinedEvaluation; rows: number } | undefined {
  const complete = rows.filter((r) =>
    r.error === null && options.heuristics.every((c) => r.values[c] !== null)
  );
  const X = complete.map((r) =>
    options.heuristics.map((c) => orientScores([r.values[c]], columnDirection(c))[0])
  );
  const y = complete.map((r) => (r.usable ? 1 : 0));
  const pos = y.reduce((a: number, v) => a + v, 0);
  const folds = Math.min(options.folds ?? 5, pos, y.length - pos);
  if (folds < 2) return undefined;
  const evaluation = crossValidateCombined(X, y, options.heuristics, {
    folds,
    seed: options.seed ?? 0,
    C: options.C,
  });
  return { evaluation, rows: complete.length };
}

/** The `combined` block of the JSON. */
function combinedJson(combined: CombinedEvaluation, n: number): CombinedJson {
  return {
    columns: combined.columns,
    n,
    C: combined.C,
    folds: combined.folds,
    out_of_fold_auc: combined.pooledAuc.combined,
    mean_fold_auc: combined.meanFoldAuc.combined,
    in_sample_auc: combined.inSampleAuc,
    single_pooled_auc: combined.pooledAuc.single,
    single_mean_fold_auc: combined.meanFoldAuc.single,
    per_fold: combined.perFold,
    coefficients_standardised: Object.fromEntries(
      combined.columns.map((c, j) => [c, combined.model.coef[j]]),
    ),
    intercept_standardised: combined.model.intercept,
    note: "coefficients act on oriented values (lower-is-better columns negated); not expressible as " +
      "score --thresholds rules",
  };
}

/** The rules' verdicts against the labels: kept usable (tp), kept unusable (fp), and so on. */
function confusion(rows: readonly JoinedLabel[], verdicts: readonly { kept: boolean }[]) {
  return rows.reduce((acc, r, i) => {
    const k = verdicts[i].kept;
    if (r.usable) k ? acc.tp++ : acc.fn++;
    else k ? acc.fp++ : acc.tn++;
    return acc;
  }, { tp: 0, fp: 0, fn: 0, tn: 0 });
}

/** Per human quality score: images, share usable, and each column's median (nodejs-polars). */
function perQuality(rows: readonly JoinedLabel[], columns: readonly string[]): Record<string, unknown>[] {
  const df = pl.DataFrame([
    pl.Series("quality", rows.map((r) => r.quality), pl.Int32),
    pl.Series("usable", rows.map((r) => (r.usable ? 1 : 0)), pl.Float64),
    ...columns.map((c) => pl.Series(c, rows.map((r) => r.values[c]), pl.Float64)),
  ]);
  return df.groupBy("quality").agg(
    pl.len().alias("images"),
    pl.col("usable").mean().alias("usable_fraction"),
    ...columns.map((c) => pl.col(c).median().alias(`${c}_median`)),
  ).sort("quality").toRecords() as Record<string, unknown>[];
}
