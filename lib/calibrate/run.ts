/**
 * The calibrate job, as `deno task calibrate` runs it: hand labels and a score table in; per
 * heuristic column the ROC/PR curves, AUC and average precision with bootstrap intervals, a
 * threshold chosen by a stated strategy with its intervals and out-of-fold numbers; optionally a
 * combined logistic filter; out come a JSON-ready result, a thresholds file for `score
 * --thresholds`, and a self-contained HTML report with the plots.
 *
 * Labels join scores on the resolved absolute `path` (label paths resolve against the label
 * file's folder, score-table paths against the working directory); the positive class is
 * `usable = yes`; a column whose registry direction is `lower_is_better` is negated before ranking.
 *
 * @module
 */
import { resolve } from "node:path";
import pl from "nodejs-polars";
import { type ErrorType, loadFaceLabels, loadImageLabels, matchFaces } from "../labels/format.ts";
import { readResults, type Row } from "../score/results.ts";
import { applyRules, saveThresholds, type ThresholdRule } from "../score/rules.ts";
import type { Direction } from "../heuristics/types.ts";
import { averagePrecisionScore, precisionRecallCurve, rocAucScore, rocCurve } from "./metrics.ts";
import {
  chooseThreshold,
  columnDirection,
  columnErrorType,
  operatingPoints,
  orientScores,
  ruleFor,
  type StrategyOptions,
} from "./thresholds.ts";
import { bootstrapCalibration, type BootstrapResult, type Interval } from "./bootstrap.ts";
import { crossValidateThreshold, type CrossValidation, type Rates, ratesOf } from "./crossval.ts";
import { type CombinedEvaluation, crossValidateCombined } from "./logistic.ts";
import { prPlot, rocPlot } from "../report/plots/curves.ts";
import { sweepPlot } from "../report/plots/sweep.ts";
import { countErrorTypes, errorCountsPlot } from "../report/plots/errors.ts";
import { faceQualityPlot } from "../report/plots/face_quality.ts";
import { confidencePlot } from "../report/plots/confidence.ts";
import { contactSheet, type SheetImage } from "../report/plots/contact_sheet.ts";
import type { PlotOutput } from "../report/plots/render.ts";
import { renderHtmlReport, type ReportFigure, type ReportSection } from "../report/html.ts";

/** Options of {@link runCalibration}. */
export interface CalibrateOptions {
  /** `images.csv` hand labels. */
  labels: string;
  /** Score table written by `score` (.csv, .jsonl, .parquet). */
  scores: string;
  /** Score columns to calibrate, e.g. `["laplacian_var"]`. The first is the headline of the JSON. */
  heuristics: string[];
  /** Threshold strategy. Default Youden's J. */
  strategy?: StrategyOptions;
  /** Also fit and evaluate a logistic filter over all the columns. */
  combine?: boolean;
  /** Regularisation of the combined filter (scikit-learn's C). Default 1. */
  C?: number;
  /** Bootstrap resamples. Default 1000. */
  bootstrap?: number;
  /** Cross-validation folds. Default 5 (fewer when a class has fewer images). */
  folds?: number;
  /** Seed of resampling and fold assignment. Default 0. */
  seed?: number;
  /** Reject label rows whose image file does not exist. Default true. */
  checkFiles?: boolean;
  /** Write the rules here (the file `score --thresholds` reads). */
  outThresholds?: string;
  /** Write the HTML report here. */
  report?: string;
  /** Per-face table from `score --faces` and face hand labels: adds the face section. */
  faces?: string;
  faceLabels?: string;
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

/** What {@link runCalibration} returns: the JSON result and the pieces the CLI prints. */
export interface CalibrationRun {
  /** The JSON document (`--json` prints it). Top-level `auc`, `average_precision`, `threshold` are the first column's. */
  result: Record<string, unknown>;
  columns: ColumnResult[];
  rules: ThresholdRule[];
  /** Every label problem, `file:line: field: problem`. */
  labelIssues: string[];
  /** The report's HTML, when `report` was given. */
  html?: string;
  /** Titles of the report's figures, in order. */
  figures: string[];
}

/** A calibration that cannot run (no rows joined, a column absent, one class only); says why. */
export class CalibrationError extends Error {
  override name = "CalibrationError";
}

interface Joined {
  path: string;
  usable: boolean;
  quality: number;
  errors: string;
  error: string | null;
  values: Record<string, number | null>;
}

const ci = (i: Interval): [number, number] => [i.low, i.high];
const num = (x: number) => (Number.isFinite(x) ? x : null);
const ratesJson = (r: Rates): RatesJson => ({
  precision: num(r.precision),
  recall: num(r.recall),
  kept_fraction: num(r.keptFraction),
  false_positive_rate: num(r.fpr),
  youden_j: num(r.youdenJ),
});

/** Joins labels to score rows on the resolved path with nodejs-polars (a left join: every label kept). */
function joinLabels(
  labels: { path: string; usable: boolean; quality: number; errors: ErrorType[] }[],
  scores: Row[],
  columns: string[],
): Joined[] {
  const scorePaths = scores.map((r) => resolve(String(r.path ?? "")));
  const left = pl.DataFrame([
    pl.Series("path", labels.map((l) => l.path), pl.Utf8),
    pl.Series("usable", labels.map((l) => l.usable), pl.Bool),
    pl.Series("quality", labels.map((l) => l.quality), pl.Int32),
    pl.Series("errors", labels.map((l) => l.errors.join(";")), pl.Utf8),
  ]);
  const right = pl.DataFrame([
    pl.Series("path", scorePaths, pl.Utf8),
    pl.Series("_scored", scores.map(() => true), pl.Bool),
    pl.Series("error", scores.map((r) => (r.error ? String(r.error) : null)), pl.Utf8),
    ...columns.map((c) =>
      pl.Series(
        c,
        scores.map((r) => (typeof r[c] === "number" && Number.isFinite(r[c]) ? r[c] : null)),
        pl.Float64,
      )
    ),
  ]).unique({ subset: ["path"], keep: "first", maintainOrder: true });
  const joined = left.join(right, { on: "path", how: "left" }).filter(pl.col("_scored").isNotNull());
  return (joined.toRecords() as Record<string, unknown>[]).map((r) => ({
    path: r.path as string,
    usable: r.usable as boolean,
    quality: r.quality as number,
    errors: r.errors as string,
    error: (r.error as string | null) ?? null,
    values: Object.fromEntries(columns.map((c) => [c, (r[c] as number | null) ?? null])),
  }));
}

/** Per human quality score: images, share usable, and each column's median (nodejs-polars). */
function perQuality(rows: Joined[], columns: string[]): Record<string, unknown>[] {
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

/** Converts an oriented threshold to column units. */
function toColumn(t: number, direction: Direction | undefined): number {
  return direction === "lower_is_better" ? -t + 0 : t;
}

function columnCi(i: Interval, direction: Direction | undefined): [number, number] {
  return direction === "lower_is_better" ? [-i.high + 0, -i.low + 0] : [i.low, i.high];
}

interface ColumnWork {
  result: ColumnResult;
  y: number[];
  s: number[];
  boot: BootstrapResult;
  cv: CrossValidation;
}

function calibrateColumn(
  rows: Joined[],
  column: string,
  options: CalibrateOptions,
  source: string,
): ColumnWork {
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

/**
 * Runs a calibration: loads and validates labels (bad rows reported by file and line and counted,
 * good ones kept), joins the score table, calibrates each column, writes the thresholds file and the
 * report when asked.
 *
 * @example
 * ```ts ignore
 * import { runCalibration } from "./run.ts";
 * const run = await runCalibration({
 *   labels: "data/labels/images.csv", scores: "scores.csv", heuristics: ["laplacian_var"],
 *   outThresholds: "thresholds.json", report: "calibration.html",
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
  const applied = rows.reduce((acc, r, i) => {
    const k = verdicts[i].kept;
    if (r.usable) k ? acc.tp++ : acc.fn++;
    else k ? acc.fp++ : acc.tn++;
    return acc;
  }, { tp: 0, fp: 0, fn: 0, tn: 0 });

  let combined: CombinedEvaluation | undefined;
  let combinedRows = 0;
  if (options.combine && options.heuristics.length >= 2) {
    const complete = rows.filter((r) =>
      r.error === null && options.heuristics.every((c) => r.values[c] !== null)
    );
    combinedRows = complete.length;
    const X = complete.map((r) =>
      options.heuristics.map((c) => orientScores([r.values[c]], columnDirection(c))[0])
    );
    const y = complete.map((r) => (r.usable ? 1 : 0));
    const pos = y.reduce((a: number, v) => a + v, 0);
    const folds = Math.min(options.folds ?? 5, pos, y.length - pos);
    if (folds >= 2) {
      combined = crossValidateCombined(X, y, options.heuristics, {
        folds,
        seed: options.seed ?? 0,
        C: options.C,
      });
    }
  }

  const first = columns[0];
  const strategy = options.strategy ?? { strategy: "youden" };
  const result: Record<string, unknown> = {
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
    rules_applied: {
      rules: rules.length,
      ...applied,
      ...ratesJson(ratesOf(applied)),
    },
    per_quality: perQuality(rows, options.heuristics),
  };
  if (combined) {
    result.combined = {
      columns: combined.columns,
      n: combinedRows,
      C: combined.C,
      folds: combined.folds,
      out_of_fold_auc: combined.pooledAuc.combined,
      mean_fold_auc: combined.meanFoldAuc.combined,
      in_sample_auc: combined.inSampleAuc,
      single_pooled_auc: combined.pooledAuc.single,
      single_mean_fold_auc: combined.meanFoldAuc.single,
      per_fold: combined.perFold,
      coefficients_standardised: Object.fromEntries(
        combined.columns.map((c, j) => [c, combined!.model.coef[j]]),
      ),
      intercept_standardised: combined.model.intercept,
      note: "coefficients act on oriented values (lower-is-better columns negated); not expressible as " +
        "score --thresholds rules",
    };
  }

  let faceFigures: { figures: ReportFigure[]; text: string[] } | undefined;
  if (options.faces && options.faceLabels) {
    const f = await faceAnalysis(options.faces, options.faceLabels);
    result.faces = f.json;
    labelIssues.push(...f.issues);
    if (options.report) faceFigures = await f.figures();
  }

  if (options.outThresholds) {
    await saveThresholds(options.outThresholds, rules, {
      calibration: {
        labels: resolve(options.labels),
        scores: resolve(options.scores),
        strategy: first.strategy,
        images: rows.length,
      },
    });
    result.thresholds_file = options.outThresholds;
  }

  const figures: string[] = [];
  let html: string | undefined;
  if (options.report) {
    const sections = await reportSections(rows, work, verdicts, combined, faceFigures, figures);
    html = renderHtmlReport({
      title: `winnow calibration: ${options.heuristics.join(", ")}`,
      intro:
        `Labels ${options.labels} (${labels.kept} of ${labels.read} rows kept), scores ${options.scores}; ` +
        `${rows.length} labeled images joined (${rows.filter((r) => r.usable).length} usable). ` +
        `Strategy: ${first.strategy}. Intervals: ${work[0].boot.level * 100}% bootstrap percentile, ` +
        `${work[0].boot.resamples} stratified resamples, seed ${work[0].boot.seed}; out-of-fold: ` +
        `${work[0].cv.folds}-fold stratified cross-validation.`,
      summary: columns.map((c) =>
        [
          c.column,
          `AUC ${c.auc.toFixed(3)} [${c.auc_ci[0].toFixed(3)}, ${c.auc_ci[1].toFixed(3)}], ` +
          `threshold ${c.threshold_kind} ${fmt(c.threshold)}`,
        ] as const
      ),
      sections: [
        ...sections,
        ...(labelIssues.length
          ? [{
            heading: "Label problems",
            text: `${labels.rejected} rows rejected.`,
            tables: [{ rows: labelIssues.map((m) => ({ issue: m })) }],
          }]
          : []),
      ],
    });
    await Deno.writeTextFile(options.report, html);
    result.report_file = options.report;
  }
  return { result, columns, rules, labelIssues, html, figures };
}

function fmt(x: number): string {
  return Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0)
    ? x.toPrecision(4)
    : String(+x.toPrecision(4));
}

async function faceAnalysis(facesFile: string, faceLabelsFile: string) {
  const detected = (await readResults(facesFile)).filter((r) =>
    [r.x, r.y, r.width, r.height].every((v) => typeof v === "number")
  ).map((r) => ({
    path: resolve(String(r.path)),
    x: r.x as number,
    y: r.y as number,
    width: r.width as number,
    height: r.height as number,
    confidence: typeof r.confidence === "number" ? r.confidence : NaN,
    log10Area: typeof r.log10_area === "number" ? r.log10_area : NaN,
  }));
  const labels = await loadFaceLabels(faceLabelsFile);
  const m = matchFaces(detected, labels.rows);
  const pairs = m.matches.map((p) => ({
    quality: p.labeled.quality,
    log10Area: p.detected.log10Area,
    confidence: p.detected.confidence,
  }));
  const judged = pairs.filter((p) => p.quality >= 4 || p.quality <= 2);
  const aucOf = (key: "log10Area" | "confidence") => {
    const ok = judged.filter((p) => Number.isFinite(p[key]));
    const y = ok.map((p) => (p.quality >= 4 ? 1 : 0));
    const pos = y.reduce((a: number, v) => a + v, 0);
    return pos > 0 && pos < y.length ? rocAucScore(y, ok.map((p) => p[key])) : null;
  };
  const json = {
    faces_file: facesFile,
    face_labels_file: faceLabelsFile,
    labeled_faces: labels.kept,
    label_rows_rejected: labels.rejected,
    detected_faces: detected.length,
    matched: m.matches.length,
    labeled_not_detected: m.unmatchedLabeled.length,
    good_faces: judged.filter((p) => p.quality >= 4).length,
    bad_faces: judged.filter((p) => p.quality <= 2).length,
    auc_log10_area: aucOf("log10Area"),
    auc_confidence: aucOf("confidence"),
    definition: "AUC of good (quality ≥ 4) against bad (≤ 2) matched faces (IoU ≥ 0.5)",
  };
  return {
    json,
    issues: labels.issues.map((i) => i.message),
    async figures() {
      const figs: ReportFigure[] = [];
      const text = [
        `${m.matches.length} of ${labels.kept} labeled faces matched a detected face (IoU ≥ 0.5); ` +
        `${m.unmatchedLabeled.length} were not detected.`,
      ];
      if (pairs.some((p) => Number.isFinite(p.log10Area))) {
        figs.push(figure(await faceQualityPlot(pairs, { scale: 2 }), "Face size by human face quality"));
      }
      if (pairs.some((p) => Number.isFinite(p.confidence))) {
        figs.push(
          figure(await confidencePlot(pairs, { scale: 2 }), "Detector confidence by human face quality"),
        );
      }
      return { figures: figs, text };
    },
  };
}

function figure(plot: PlotOutput, caption: string): ReportFigure {
  return {
    png: plot.png,
    svg: plot.svg,
    alt: plot.alt || caption,
    width: plot.width,
    height: plot.height,
    caption,
  };
}

async function reportSections(
  rows: Joined[],
  work: ColumnWork[],
  verdicts: { kept: boolean; reasons: string[] }[],
  combined: CombinedEvaluation | undefined,
  faces: { figures: ReportFigure[]; text: string[] } | undefined,
  titles: string[],
): Promise<ReportSection[]> {
  const add = (f: ReportFigure) => (titles.push(f.caption ?? ""), f);
  const curves = work.map((w) => {
    const roc = rocCurve(w.y, w.s);
    const pr = precisionRecallCurve(w.y, w.s);
    const p = operatingPoints(w.y, w.s).find((q) => q.threshold === toOriented(w.result))!;
    return { w, roc, pr, p };
  });
  const prevalence = work[0].y.reduce((a, v) => a + v, 0) / work[0].y.length;
  const rocFig = add(figure(
    await rocPlot(
      curves.map(({ w, roc, p }) => ({
        name: w.result.column,
        curve: roc,
        area: rocAucScore(w.y, w.s),
        chosenThreshold: w.result.threshold,
        chosenPoint: { x: p.fpr, y: p.recall },
      })),
      { scale: 2, title: "ROC curves with the chosen thresholds" },
    ),
    "ROC curve per heuristic (lower-is-better values negated); ringed: the chosen threshold",
  ));
  const prFig = add(figure(
    await prPlot(
      curves.map(({ w, pr, p }) => ({
        name: w.result.column,
        curve: pr,
        area: averagePrecisionScore(w.y, w.s),
        chosenThreshold: w.result.threshold,
        chosenPoint: { x: p.recall, y: p.precision },
      })),
      { scale: 2, prevalence, title: "Precision–recall curves with the chosen thresholds" },
    ),
    "Precision–recall curve per heuristic; the dashed line is the share of usable images",
  ));
  const sweeps: ReportFigure[] = [];
  for (const { w } of curves) {
    const dir = w.result.direction === "lower_is_better" ? "lower_is_better" : undefined;
    const pts = operatingPoints(w.y, w.s).slice(1).map((q) => ({
      threshold: toColumn(q.threshold, dir),
      precision: q.precision,
      recall: q.recall,
      keptFraction: q.keptFraction,
    }));
    const ts = pts.map((q) => q.threshold);
    const logThreshold = ts.every((t) => t > 0) && Math.max(...ts) / Math.min(...ts) > 100;
    sweeps.push(add(figure(
      await sweepPlot(pts, {
        scale: 2,
        title: `Threshold sweep: ${w.result.column}`,
        thresholdTitle: `${w.result.column} threshold (kept when value ${dir ? "≤" : "≥"} threshold)`,
        chosenThreshold: w.result.threshold,
        logThreshold,
      }),
      `Precision, recall and kept fraction of ${w.result.column} as its threshold moves`,
    )));
  }
  const errorFig = add(figure(
    await errorCountsPlot(
      [
        ...countErrorTypes(rows.map((r) => r.errors), { group: "hand labels" }),
        ...countErrorTypes(verdicts.map((v) => v.reasons), { group: "rejected by the rules" }),
      ],
      { scale: 2, title: "Error types: hand labels and rejections by the chosen rules" },
    ),
    "How often each error type occurs in the hand labels, and each rule's reason among rejected images",
  ));
  const sections: ReportSection[] = [
    {
      heading: "Curves",
      text: "Each curve ranks the labeled images by one heuristic; the ringed point is the chosen threshold.",
      figures: [rocFig, prFig],
    },
    {
      heading: "Thresholds",
      text: "In-sample numbers are measured on the images the threshold was chosen on; out-of-fold " +
        "numbers choose it on the other folds and measure on the held-out one: expect those.",
      figures: sweeps,
      tables: [{
        caption: "Chosen thresholds (95% bootstrap intervals in brackets)",
        rows: work.map(({ result: c }) => ({
          column: c.column,
          rule: `${c.threshold_kind} ${fmt(c.threshold)} [${fmt(c.threshold_ci[0])}, ${
            fmt(c.threshold_ci[1])
          }]`,
          n: c.n,
          AUC: `${c.auc.toFixed(3)} [${c.auc_ci[0].toFixed(3)}, ${c.auc_ci[1].toFixed(3)}]`,
          AP: `${c.average_precision.toFixed(3)} [${c.average_precision_ci[0].toFixed(3)}, ${
            c.average_precision_ci[1].toFixed(3)
          }]`,
          precision: `${c.precision.toFixed(3)} [${c.precision_ci[0].toFixed(3)}, ${
            c.precision_ci[1].toFixed(3)
          }]`,
          recall: `${c.recall.toFixed(3)} [${c.recall_ci[0].toFixed(3)}, ${c.recall_ci[1].toFixed(3)}]`,
          kept: `${c.kept_fraction.toFixed(3)} [${c.kept_fraction_ci[0].toFixed(3)}, ${
            c.kept_fraction_ci[1].toFixed(3)
          }]`,
          "precision out of fold": c.out_of_fold.precision,
          "recall out of fold": c.out_of_fold.recall,
          "kept out of fold": c.out_of_fold.kept_fraction,
        })),
      }],
    },
    { heading: "Error types", figures: [errorFig] },
  ];
  if (combined) {
    sections.push({
      heading: "Combined filter",
      text:
        `Logistic regression (standardised, L2, C = ${combined.C}) over ${combined.columns.join(", ")}; ` +
        `${combined.folds}-fold out-of-fold AUC ${combined.pooledAuc.combined.toFixed(3)} ` +
        `(in-sample ${combined.inSampleAuc.toFixed(3)}).`,
      tables: [{
        caption: "Held-out AUC per fold: combined against each single heuristic",
        rows: combined.perFold.map((f) => ({
          fold: f.fold + 1,
          n: f.n,
          combined: f.combinedAuc,
          ...f.singleAuc,
        })),
      }],
    });
  }
  if (faces) sections.push({ heading: "Faces", text: faces.text, figures: faces.figures.map(add) });
  const kept: SheetImage[] = [], rejected: SheetImage[] = [];
  for (const [i, r] of rows.entries()) {
    if (!(await Deno.stat(r.path).then((s) => s.isFile, () => false))) continue;
    (verdicts[i].kept ? kept : rejected).push({ image: r.path, reasons: verdicts[i].reasons });
  }
  if (kept.length + rejected.length > 0) {
    const sheet = await contactSheet({ kept, rejected }, {
      thumbSize: 120,
      columns: 6,
      maxPerSection: 30,
      title: "Kept and rejected by the chosen rules",
    });
    sections.push({
      heading: "Contact sheet",
      figures: [add({
        png: sheet.png,
        width: sheet.width,
        height: sheet.height,
        alt: "Contact sheet of kept and rejected images",
        caption: "Contact sheet: kept versus rejected by the chosen rules",
      })],
    });
  }
  return sections;
}

function toOriented(c: ColumnResult): number {
  return c.threshold_kind === "max" ? -c.threshold + 0 : c.threshold;
}
