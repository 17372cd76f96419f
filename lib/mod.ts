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
export * from "./core/image.ts";
export { MetricError, WinnowError } from "./core/errors.ts";
export { type Box, intersection, iou } from "./core/geometry.ts";
export { type AtomicOptions, writeAtomic } from "./core/atomic.ts";
export { checkSettings, SettingsError, type SettingSpec, type SettingsSpec } from "./core/settings.ts";
export * from "./heuristics/types.ts";
export * from "./heuristics/registry.ts";
export * from "./score/rules.ts";
export * from "./score/score_image.ts";
export { type BatchOptions, type BatchSummary, scoreColumns, scoreFiles } from "./score/batch.ts";
export { ScorePool } from "./score/pool.ts";
export { runScoreJob, type ScoreJobOptions, type ScoreJobResult } from "./score/job.ts";
export { type Column, openResults, readResults, type ResultTable, type Row } from "./score/results.ts";
export { mergeParts, type MergeResult } from "./score/merge.ts";
export { parseShard, partName, selectInputs, type Shard, shardOf } from "./score/shard.ts";
export { download, isRemote, listFiles, readLines, upload } from "./core/storage.ts";
export { listImages } from "./core/files.ts";
export { summarizeRows } from "./score/summary.ts";
export { buildSampleSet } from "./core/samples.ts";

// Hand labels and calibration metrics.
export {
  ERROR_TYPES,
  type FaceLabel,
  type ImageLabel,
  type LabelFile,
  LabelFormatError,
  type LabelIssue,
  loadFaceLabels,
  loadImageLabels,
  matchFaces,
  parseFaceLabels,
  parseImageLabels,
  SHIPPED_FACE_LABELS,
  SHIPPED_IMAGE_LABELS,
  SHIPPED_LABELS_DIR,
} from "./labels/format.ts";
export {
  averagePrecisionScore,
  type PrCurve,
  precisionRecallCurve,
  rocAucScore,
  type RocCurve,
  rocCurve,
  youdenThreshold,
} from "./calibrate/metrics.ts";
export { cohenKappa, spearman } from "./labels/agreement.ts";

// Plots and reports.
export * from "./report/plots/render.ts";
export { faceQualityPlot } from "./report/plots/face_quality.ts";
export { confidencePlot } from "./report/plots/confidence.ts";
export { prOperatingPoint, prPlot, rocOperatingPoint, rocPlot } from "./report/plots/curves.ts";
export { sweepPlot } from "./report/plots/sweep.ts";
export { countErrorTypes, errorCountsPlot } from "./report/plots/errors.ts";
export { contactSheet } from "./report/plots/contact_sheet.ts";
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
} from "./generate/pipeline.ts";
export { BACKEND_NAMES, BACKENDS, createBackends } from "./backends/registry.ts";
export { type Backend, BackendError, type GeneratedImage, type GenerationRequest } from "./backends/types.ts";
export { makePrompt, templatePrompt } from "./generate/prompt.ts";
export { ChatClient, type ChatMessage, type ChatOptions } from "./models/chat.ts";
export { HttpError, retrying, type RetryPolicy } from "./core/http.ts";
export { maskSecrets, readSecret } from "./core/secrets.ts";

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
  type CalibrationResult,
  type CalibrationRun,
  type ColumnResult,
  type CombinedJson,
  runCalibration,
} from "./calibrate/run.ts";
export { calibrationReport, writeCalibrationReport } from "./report/calibration.ts";
export {
  buildSyntheticSet,
  type ScoredSyntheticSet,
  scoredSyntheticSet,
  SYNTHETIC_COLUMNS,
  type SyntheticSet,
} from "./calibrate/synthetic.ts";

// Learned scorers: the file format (models), fitting and the recipes of the shipped ones (calibrate).
export {
  applyScorer,
  featureValue,
  loadScorer,
  parseScorer,
  type Scorer,
  SCORER_FORMAT,
  type ScorerFeature,
  ScorerFormatError,
  SHIPPED_MODELS_DIR,
  shippedScorerPath,
} from "./models/scorer.ts";
export {
  type AucWithInterval,
  aucWithInterval,
  fitScorer,
  type FitScorerOptions,
  outOfFoldLogistic,
} from "./calibrate/fit_scorer.ts";
export { FIT_RECIPES, fitRecipe, type LabeledRows, writeScorer } from "./calibrate/fit_recipes.ts";

// Evaluation: people as the judge (A/B preferences) and counting statistics.
export {
  binomialTest,
  type ChiSquareResult,
  chiSquareSurvival,
  chiSquareTest,
  logGamma,
  StatsError,
  wilsonInterval,
  Z95,
} from "./evaluate/stats.ts";
export {
  bootstrapBradleyTerry,
  bradleyTerry,
  type BradleyTerryFit,
  type BradleyTerryIntervals,
  type BradleyTerryOptions,
  type Comparison,
  type CoverageStudy,
  coverageStudy,
  fitBradleyTerry,
  type PairRecord,
  type PreferenceCounts,
  preferenceCounts,
  simulateComparisons,
  type SystemRecord,
} from "./evaluate/preference.ts";
export {
  type AbAnalysis,
  type AbAnalysisOptions,
  abComparisons,
  type AbSystem,
  analyseAb,
  loadScores,
  type RepeatAgreement,
  repeatAgreement,
  type ScoreAgreement,
  scoreAgreement,
  type Share,
  simulateAbRows,
} from "./evaluate/ab.ts";
export {
  AB_COLUMNS,
  AB_EXTRA_COLUMNS,
  type AbChoice,
  abCsv,
  AbFormatError,
  type AbRecord,
  type AbRow,
  loadAbFiles,
  parseAbCsv,
} from "./labels/ab_format.ts";
export { strengthPlot, type WinRateCell, winRateMatrixPlot } from "./report/plots/preference.ts";
export { abReport, winRateCells } from "./report/ab_report.ts";
export { formatShare, pct } from "./report/format.ts";
export { uncertaintyScheduler } from "./evaluate/schedule.ts";
export {
  type AbNext,
  type AbPair,
  type AbRunSpec,
  type AbScheduleContext,
  type AbScheduler,
  type AbSession,
  balancedScheduler,
  buildAbSession,
  nextAbPair,
  parseRunSpec,
} from "./labels/app/ab.ts";

// Generator evaluation: Pillow-exact resizing and CLIP inputs as the reference makes them.
export { resizePil, resizePilFloat } from "./core/resize_pil.ts";
export {
  clipPixels,
  type ClipPreprocessor,
  OPENAI_CLIP_PREPROCESSOR,
  parsePreprocessorConfig,
  readPreprocessorConfig,
} from "./models/clip_pixels.ts";
export {
  type Features,
  frechet,
  frechetDistance,
  type FrechetResult,
  inceptionScore,
  inceptionScoreSplits,
  type KidOptions,
  type KidResult,
  kidSubsets,
  kidUnbiased,
  knnPrecisionRecall,
  type MeanInterval,
  meanWithInterval,
} from "./evaluate/distribution.ts";
export { psnr, ssim } from "./evaluate/pairs.ts";
export {
  cleanFidClipInput,
  type ExtractedFeatures,
  extractFeatures,
  type ExtractOptions,
  EXTRACTORS,
  type FeatureExtractor,
  INCEPTION_FILE,
  inceptionInput,
  loadExtractor,
} from "./evaluate/features.ts";
export { loadLpips, type Lpips, LPIPS_FILE, lpipsInput } from "./evaluate/lpips.ts";

// Bias audit: perceived age and gender of generated faces.
export {
  ageGroupNames,
  ageGroupOf,
  type AttributeAudit,
  attributeAudit,
  AUDIT_CAVEATS,
  type AuditFace,
  type AuditOptions,
  type AuditReference,
  type AuditResult,
  DEFAULT_AGE_GROUPS,
  type GroupCount,
  loadAuditReference,
  runAudit,
} from "./evaluate/audit.ts";
export { heldout, type HeldoutOptions, type HeldoutResult } from "./evaluate/heldout.ts";
export {
  type AgeGenderEstimator,
  DEFAULT_AGE_GENDER_DIR,
  loadAgeGender,
  type PerceivedAgeGender,
} from "./models/faces/age_gender.ts";
export { type GroupShare, groupSharePlot } from "./report/plots/groups.ts";
export { attributeLines, auditReport, chiSquareLine } from "./report/audit_report.ts";

// Generator evaluation: runs of deno task evaluate.
export {
  type ClipRunResult,
  evaluateClip,
  EvaluateError,
  evaluateFid,
  evaluatePairs,
  type FidOptions,
  type FidResult,
  type PairRow,
  type PairsResult,
} from "./evaluate/run.ts";
export { evaluateReport } from "./report/evaluate_report.ts";

// What the notebooks use: they import from this file only.
export * from "./notebook/data.ts";
export * from "./notebook/display.ts";
export * from "./notebook/images.ts";
export * from "./calibrate/face_size.ts";
export { type ErrorHeadroom, headroomByError } from "./calibrate/headroom.ts";
export {
  runValidity,
  type UsableCurve,
  type UsableCurves,
  usableCurves,
  validityHeuristics,
  validityMarkdown,
  type ValidityOptions,
  type ValidityReport,
} from "./calibrate/validity.ts";
export {
  DEFAULT_LABEL_SCORES,
  parseFeatureList,
  resolveFeatures,
  USABLE_C,
  USABLE_FEATURES,
} from "./calibrate/fit_usable.ts";
export { mulberry32, seededRandom } from "./core/random.ts";
export { faceQualityStudy, STUDY_SIGNALS, studyTable } from "./notebook/face_quality.ts";
