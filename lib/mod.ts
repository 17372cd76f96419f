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
