/**
 * winnow: score AI-generated images, filter out the bad ones, calibrate the filters.
 *
 * The one public entry for notebooks, tasks and users' scripts:
 *
 * ```ts ignore
 * import { decodeImage, defaultRules, resolveHeuristics, scoreImage } from "./lib/mod.ts";
 * const img = await decodeImage("candidate.png");
 * const { values, verdict } = await scoreImage(img, { rules: defaultRules(resolveHeuristics()) });
 * ```
 *
 * @module
 */
export * from "./image.ts";
export * from "./heuristics/types.ts";
export * from "./heuristics/registry.ts";
export * from "./thresholds.ts";
export * from "./score.ts";
export { type BatchOptions, type BatchSummary, scoreColumns, scoreFiles } from "./batch.ts";
export { ScorePool } from "./score_pool.ts";
export { runScoreJob, type ScoreJobOptions, type ScoreJobResult } from "./score_job.ts";
export { type Column, openResults, readResults, type ResultTable, type Row } from "./results.ts";
export { listImages } from "./files.ts";
export { summarizeRows } from "./summary.ts";
export { buildSampleSet } from "./samples.ts";

// Hand labels and calibration metrics.
export {
  ERROR_TYPES,
  type FaceLabel,
  type ImageLabel,
  iou,
  type LabelFile,
  LabelFormatError,
  type LabelIssue,
  loadFaceLabels,
  loadImageLabels,
  matchFaces,
  parseFaceLabels,
  parseImageLabels,
} from "./labels.ts";
export {
  averagePrecisionScore,
  MetricError,
  type PrCurve,
  precisionRecallCurve,
  rocAucScore,
  type RocCurve,
  rocCurve,
  youdenThreshold,
} from "./calibrate/metrics.ts";
export { cohenKappa, spearman } from "./calibrate/agreement.ts";

// Plots and reports.
export * from "./plots/render.ts";
export { faceQualityPlot } from "./plots/face_quality.ts";
export { confidencePlot } from "./plots/confidence.ts";
export { prOperatingPoint, prPlot, rocOperatingPoint, rocPlot } from "./plots/curves.ts";
export { sweepPlot } from "./plots/sweep.ts";
export { countErrorTypes, errorCountsPlot } from "./plots/errors.ts";
export { contactSheet } from "./plots/contact_sheet.ts";
export { escapeHtml, renderHtmlReport } from "./report/html.ts";

// Generation.
export {
  MANIFEST,
  MANIFEST_COLUMNS,
  type ManifestRow,
  PipelineError,
  type PipelineOptions,
  type PipelineResult,
  rankRows,
  readManifest,
  runPipeline,
} from "./pipeline.ts";
export { BACKEND_NAMES, BACKENDS, createBackends } from "./backends/registry.ts";
export { type Backend, BackendError, type GeneratedImage, type GenerationRequest } from "./backends/types.ts";
export { ChatClient, makePrompt, templatePrompt } from "./text.ts";

// Calibration.
export * from "./calibrate/thresholds.ts";
export {
  bootstrapCalibration,
  type BootstrapResult,
  type Interval,
  quantileSorted,
} from "./calibrate/bootstrap.ts";
export {
  crossValidateThreshold,
  type CrossValidation,
  ratesOf,
  stratifiedFolds,
} from "./calibrate/crossval.ts";
export {
  type CombinedEvaluation,
  crossValidateCombined,
  fitLogistic,
  type LogisticModel,
  predictLogit,
} from "./calibrate/logistic.ts";
export {
  type CalibrateOptions,
  CalibrationError,
  type CalibrationRun,
  runCalibration,
} from "./calibrate/run.ts";
export { buildSyntheticSet, type SyntheticSet } from "./calibrate/synthetic.ts";
