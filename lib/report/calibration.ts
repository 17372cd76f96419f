/**
 * The calibration report: one self-contained HTML page drawn from a calibration run — ROC and
 * precision–recall curves with the chosen thresholds, a threshold sweep per column, error types in
 * the labels and among rejections, the combined filter, the face section and a contact sheet of
 * kept and rejected images.
 *
 * @module
 */
import type { CalibrationRun } from "../calibrate/run.ts";
import type { FaceAnalysis } from "../calibrate/faces.ts";
import { toColumn } from "../calibrate/column.ts";
import { averagePrecisionScore, precisionRecallCurve, rocAucScore, rocCurve } from "../calibrate/metrics.ts";
import { operatingPoints } from "../calibrate/thresholds.ts";
import { prPlot, rocPlot } from "./plots/curves.ts";
import { sweepPlot } from "./plots/sweep.ts";
import { countErrorTypes, errorCountsPlot } from "./plots/errors.ts";
import { faceQualityPlot } from "./plots/face_quality.ts";
import { confidencePlot } from "./plots/confidence.ts";
import { contactSheet, type SheetImage } from "./plots/contact_sheet.ts";
import type { PlotOutput } from "./plots/render.ts";
import { renderHtmlReport, type ReportFigure, type ReportSection } from "./html.ts";
import type { ColumnResult } from "../calibrate/column.ts";

/** A calibration report: the page and the captions of its figures, in order. */
export interface CalibrationReport {
  html: string;
  figures: string[];
}

/**
 * Draws the HTML report of `run` (the result of `runCalibration`).
 *
 * @example
 * ```ts ignore
 * import { runCalibration } from "../calibrate/run.ts";
 * import { calibrationReport } from "./calibration.ts";
 * const run = await runCalibration({ labels: "images.csv", scores: "scores.csv", heuristics: ["laplacian_var"] });
 * const { html, figures } = await calibrationReport(run);
 * ```
 */
export async function calibrationReport(run: CalibrationRun): Promise<CalibrationReport> {
  const { columns, rows, work, labelIssues } = run;
  const r = run.result;
  const first = columns[0];
  const figures: string[] = [];
  const sections = await reportSections(run, figures);
  const html = renderHtmlReport({
    title: `winnow calibration: ${columns.map((c) => c.column).join(", ")}`,
    intro:
      `Labels ${r.labels.file} (${r.labels.kept} of ${r.labels.read} rows kept), scores ${r.join.scores_file}; ` +
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
          text: `${r.labels.rejected} rows rejected.`,
          tables: [{ rows: labelIssues.map((m) => ({ issue: m })) }],
        }]
        : []),
    ],
  });
  return { html, figures };
}

/**
 * Writes the report of `run` to `file` and records it as `report_file` in the run's JSON result.
 *
 * @example
 * ```ts ignore
 * import { runCalibration } from "../calibrate/run.ts";
 * import { writeCalibrationReport } from "./calibration.ts";
 * const run = await runCalibration({ labels: "images.csv", scores: "scores.csv", heuristics: ["laplacian_var"] });
 * await writeCalibrationReport(run, "calibration.html");
 * ```
 */
export async function writeCalibrationReport(run: CalibrationRun, file: string): Promise<CalibrationReport> {
  const report = await calibrationReport(run);
  await Deno.writeTextFile(file, report.html);
  run.result.report_file = file;
  return report;
}

function fmt(x: number): string {
  return Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0)
    ? x.toPrecision(4)
    : String(+x.toPrecision(4));
}

/** The face section: face size and detector confidence by human face quality. */
async function facesSection(f: FaceAnalysis, add: (f: ReportFigure) => ReportFigure): Promise<ReportSection> {
  const { pairs, json } = f;
  const figs: ReportFigure[] = [];
  const text = [
    `${json.matched} of ${json.labeled_faces} labeled faces matched a detected face (IoU ≥ 0.5); ` +
    `${json.labeled_not_detected} were not detected.`,
  ];
  if (pairs.some((p) => Number.isFinite(p.log10Area))) {
    figs.push(figure(await faceQualityPlot(pairs, { scale: 2 }), "Face size by human face quality"));
  }
  if (pairs.some((p) => Number.isFinite(p.confidence))) {
    figs.push(figure(await confidencePlot(pairs, { scale: 2 }), "Detector confidence by human face quality"));
  }
  return { heading: "Faces", text, figures: figs.map(add) };
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

async function reportSections(run: CalibrationRun, titles: string[]): Promise<ReportSection[]> {
  const { rows, work, verdicts } = run;
  const combined = run.combined?.evaluation;
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
  if (run.faces) sections.push(await facesSection(run.faces, add));
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
