/**
 * Measured validity: score labeled images with every heuristic that runs offline and report, per
 * error type in the labels, how well each relevant signal separates the images labeled with it
 * from all others — ROC AUC with a seeded stratified bootstrap 95 % interval
 * (`calibrate/bootstrap.ts`), and for error types with several signals a logistic combination
 * evaluated out of fold (`calibrate/crossval.ts` folds, `calibrate/logistic.ts`).
 *
 * Conventions:
 * - A signal's direction comes from the registry: a `lower_is_better` column is taken as "higher
 *   value = more likely to have the error", a `higher_is_better` one the other way round. Nothing
 *   is fitted for a single signal, so its AUC is not optimistic.
 * - An empty value means "not applicable" (no face, no text), which makes a rule pass; for the AUC it
 *   is ranked as the least suspicious value (tied below every present value). `present` counts the
 *   images with a value.
 * - Images whose scoring failed are left out (counted in `failedRows`).
 * - Signals relevant to an error type: outputs of heuristics whose error type, or whose threshold's
 *   error type, is that type or a related one ({@link RELATED_ERROR_TYPES}). The extra target
 *   `unusable` (labels' `usable = no`) is measured against every directional signal.
 *
 * @module
 */
import { dirname, relative, resolve } from "node:path";
import { runScoreJob } from "../score/job.ts";
import { readResults, type Row, writeResults } from "../score/results.ts";
import { scoreColumns } from "../score/batch.ts";
import { loadImageLabels, SHIPPED_IMAGE_LABELS } from "../labels/format.ts";
import { HEURISTICS, REGISTRY, resolveHeuristics } from "../heuristics/registry.ts";
import type { Direction, Heuristic } from "../heuristics/types.ts";
import { bootstrapCalibration } from "./bootstrap.ts";
import { seededRandom } from "../core/random.ts";
import { stratifiedFolds } from "./crossval.ts";
import { fitLogistic, predictLogit } from "./logistic.ts";
import { aucWithInterval, outOfFoldLogistic } from "./fit_scorer.ts";
import { DEFAULT_LABEL_SCORES, resolveRowPath, shownPath, USABLE_C, USABLE_FEATURES } from "./fit_usable.ts";
import { type RocCurve, rocCurve } from "./metrics.ts";
import { type ErrorHeadroom, headroomByError } from "./headroom.ts";
import { featureVector } from "../models/scorer.ts";
import { pairLabels } from "../labels/join.ts";

/**
 * Heuristics that need a network service or a model store that is empty offline (registry
 * `needs.model` of `service` or `store`): never run here.
 */
export const NETWORK_HEURISTICS: readonly string[] = REGISTRY
  .filter((e) => e.needs.model === "service" || e.needs.model === "store").map((e) => e.heuristic.name);

/**
 * Heuristics fitted on the labels themselves (registry `needs.model` of `fitted`, e.g. `usable`):
 * never scored here, since applying the shipped model to the images it was fitted on would measure
 * its training fit. The validity run refits them per fold instead ({@link ValidityOptions.refit}).
 */
export const FITTED_HEURISTICS: readonly string[] = REGISTRY
  .filter((e) => e.needs.model === "fitted").map((e) => e.heuristic.name);

/**
 * Heuristic error types (keys) counted as evidence for a label error type (values) beside the
 * label type itself: e.g. a face that is too small is the commonest "bad face".
 */
export const RELATED_ERROR_TYPES: Readonly<Record<string, string>> = {
  small_face: "bad_face",
  low_face_confidence: "bad_face",
  low_subject_sharpness: "blur",
  missing_limbs: "missing_body_part",
  extra_fingers: "bad_hands",
};

/** Default labels: the shipped set's `images.csv` (`data/labels/images.csv` of the project). */
export const DEFAULT_LABELS: string = SHIPPED_IMAGE_LABELS;

/** Options of {@link runValidity}. */
export interface ValidityOptions {
  /** `images.csv` labels (default {@link DEFAULT_LABELS}). */
  labels?: string;
  /** Files or folders to score; default every labeled image. Only labeled images are measured. */
  inputs?: readonly string[];
  /** Heuristics to run; default {@link validityHeuristics}. */
  heuristics?: readonly string[];
  /** Read scores from this table instead of scoring (it must hold the heuristics' columns). */
  scores?: string;
  /** Where the score table goes when scoring (default a temporary file, removed). */
  scoresOut?: string;
  /** Use at most this many labeled images: a seeded subset, half of them with errors where possible. */
  limit?: number;
  jobs?: number;
  settings?: Record<string, Record<string, unknown>>;
  /** Bootstrap resamples (default 1000) and seed (default 0, also for folds and the subset). */
  resamples?: number;
  seed?: number;
  /** Folds of the out-of-fold combination (default 5). */
  folds?: number;
  quiet?: boolean;
}

/** One signal's separation of one error type. */
export interface SignalResult {
  signal: string;
  heuristic: string;
  direction: Direction;
  /** Images with a value (others ranked as least suspicious). */
  present: number;
  auc: number;
  low: number;
  high: number;
  /** True for a fitted combination (AUC of out-of-fold predictions). */
  outOfFold?: boolean;
}

/** Results of one error type (or `unusable`). */
export interface ErrorTypeResult {
  errorType: string;
  positives: number;
  negatives: number;
  signals: SignalResult[];
  /** Why nothing was measured (no relevant signal, no positives…). */
  note?: string;
}

/** What {@link runValidity} measured. */
export interface ValidityReport {
  labels: string;
  heuristics: string[];
  images: number;
  failedRows: number;
  resamples: number;
  seed: number;
  folds: number;
  errorTypes: ErrorTypeResult[];
}

/**
 * Heuristics the validity run uses by default: every registered one except {@link NETWORK_HEURISTICS}
 * (so models registered later — hands, objects, … — are included when present).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validityHeuristics } from "./validity.ts";
 * assert.ok(validityHeuristics().includes("sharpness") && !validityHeuristics().includes("probe"));
 * ```
 */
export function validityHeuristics(): string[] {
  return REGISTRY.map((e) => e.heuristic.name)
    .filter((n) => !NETWORK_HEURISTICS.includes(n) && !FITTED_HEURISTICS.includes(n));
}

/** Error types a heuristic's outputs speak to: output name → label error types. */
function signalErrorTypes(h: Heuristic): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const o of h.outputs) {
    if (o.direction === "neither" || (o.type ?? "number") !== "number") continue;
    const types = new Set<string>([h.errorType]);
    for (const t of h.thresholds) if (t.output === o.name && t.errorType) types.add(t.errorType);
    for (const t of [...types]) if (RELATED_ERROR_TYPES[t]) types.add(RELATED_ERROR_TYPES[t]);
    out.set(o.name, types);
  }
  return out;
}

/**
 * "Badness" scores of a column for AUC: oriented by `direction` (higher = more suspicious), empty
 * values set just below the lowest present one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { badness } from "./validity.ts";
 * assert.deepEqual(badness([0.9, null, 0.5], "higher_is_better"), [-0.9, -1.9, -0.5]);
 * assert.deepEqual(badness([0.2, null], "lower_is_better"), [0.2, -0.8]);
 * ```
 */
export function badness(values: readonly unknown[], direction: Direction): number[] {
  const sign = direction === "higher_is_better" ? -1 : 1;
  const v = values.map((x) => (typeof x === "number" && Number.isFinite(x) ? sign * x : NaN));
  const present = v.filter((x) => !Number.isNaN(x));
  const floor = present.length ? Math.min(...present) - 1 : 0;
  return v.map((x) => (Number.isNaN(x) ? floor : x));
}

function subset<T extends { errors: readonly string[] }>(rows: T[], limit: number, seed: number): T[] {
  if (rows.length <= limit) return rows;
  const rand = seededRandom(seed);
  const shuffle = (xs: T[]) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  const bad = shuffle(rows.filter((r) => r.errors.length > 0));
  const good = shuffle(rows.filter((r) => r.errors.length === 0));
  const nBad = Math.min(bad.length, Math.ceil(limit / 2));
  return [...bad.slice(0, nBad), ...good.slice(0, limit - nBad)];
}

/**
 * Scores the labeled images (or reads `scores`) and measures every relevant signal per error type.
 *
 * @example
 * ```ts ignore
 * import { runValidity, validityMarkdown } from "./validity.ts";
 * const report = await runValidity({ labels: "data/labels/images.csv" });
 * console.log(validityMarkdown(report));
 * ```
 */
export async function runValidity(options: ValidityOptions = {}): Promise<ValidityReport> {
  const labelsFile = options.labels ?? DEFAULT_LABELS;
  const seed = options.seed ?? 0, resamples = options.resamples ?? 1000, folds = options.folds ?? 5;
  const labels = await loadImageLabels(labelsFile, { checkFiles: true });
  let labeled = labels.rows.map((r) => ({ ...r, path: resolve(r.path) }));
  if (options.inputs?.length) {
    const roots = options.inputs.map((p) => resolve(p));
    labeled = labeled.filter((r) => roots.some((root) => r.path === root || r.path.startsWith(`${root}/`)));
  }
  if (options.limit !== undefined) labeled = subset(labeled, options.limit, seed);
  if (!labeled.length) throw new Error(`no labeled image of ${labelsFile} among the inputs`);
  const names = options.heuristics ?? validityHeuristics();
  const heuristics = HEURISTICS.filter((h) => names.includes(h.name));
  let rows: Row[];
  if (options.scores) {
    rows = await readResults(options.scores);
  } else {
    if (options.scoresOut) await Deno.mkdir(dirname(resolve(options.scoresOut)), { recursive: true });
    const tmp = options.scoresOut ?? await Deno.makeTempFile({ prefix: "winnow-validity-", suffix: ".csv" });
    try {
      const r = await runScoreJob(labeled.map((l) => l.path), tmp, {
        heuristics: names,
        jobs: options.jobs,
        settings: options.settings,
        restart: true,
        quiet: options.quiet,
      });
      rows = r.rows;
      // The kept table names its images relative to its own folder (as the shipped one does), so it
      // stays valid when the project moves; rows by path, so a re-run gives the same file.
      if (options.scoresOut) {
        const folder = dirname(resolve(options.scoresOut));
        const kept = rows.map((row) => ({ ...row, path: relative(folder, resolve(String(row.path))) }))
          .sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
        await writeResults(options.scoresOut, scoreColumns(resolveHeuristics(names), false), kept);
      }
    } finally {
      if (!options.scoresOut) await Deno.remove(tmp).catch(() => {});
    }
  }
  // A table read from a file: its relative paths are relative to its folder (the shipped one).
  const tableRows = options.scores
    ? rows.map((r) => ({ ...r, path: resolveRowPath(r.path, options.scores!) }))
    : rows;
  const scored = pairLabels(labeled, tableRows).pairs.filter((p) => !p.row.error);
  const ok = scored.map((p) => p.label);
  const failedRows = labeled.length - ok.length;
  const values = scored.map((p) => p.row);

  const signals: { name: string; heuristic: string; direction: Direction; types: Set<string> }[] = [];
  for (const h of heuristics) {
    for (const [name, types] of signalErrorTypes(h)) {
      if (!rows.length || !(name in rows[0])) continue;
      const direction = h.outputs.find((o) => o.name === name)!.direction;
      signals.push({ name, heuristic: h.name, direction, types });
    }
  }
  const measure = (y: number[], s: (typeof signals)[number]): SignalResult => {
    const col = values.map((r) => r[s.name]);
    const b = badness(col, s.direction);
    const boot = bootstrapCalibration(y, b, median(b), { resamples, seed });
    return {
      signal: s.name,
      heuristic: s.heuristic,
      direction: s.direction,
      present: col.filter((v) => typeof v === "number" && Number.isFinite(v)).length,
      auc: boot.auc.estimate,
      low: boot.auc.low,
      high: boot.auc.high,
    };
  };

  const types = [...new Set(ok.flatMap((l) => l.errors))].sort();
  const results: ErrorTypeResult[] = [];
  for (const t of [...types, "unusable"]) {
    const y = ok.map((l) => (t === "unusable" ? !l.usable : l.errors.includes(t as never)) ? 1 : 0);
    const positives = y.filter((v) => v === 1).length, negatives = y.length - positives;
    const relevant = signals.filter((s) => t === "unusable" || s.types.has(t));
    const res: ErrorTypeResult = { errorType: t, positives, negatives, signals: [] };
    if (!positives || !negatives) res.note = "needs images with and without this error";
    else if (!relevant.length) res.note = "no heuristic run here declares this error type";
    else {
      // A column no image has a value for (e.g. a region check without a region) says nothing.
      const measurable = relevant.filter((s) => values.some((r) => typeof r[s.name] === "number"));
      res.signals = measurable.map((s) => measure(y, s)).sort((a, b) => b.auc - a.auc);
      if (!measurable.length) res.note = "no image has a value for its signals";
      if (t === "unusable" && positives >= folds && negatives >= folds) {
        const usableRow = refitUsable(values, y, { folds, seed, resamples });
        if (usableRow) res.signals.unshift(usableRow);
      }
      const combo = t === "unusable" ? [] : measurable;
      if (combo.length >= 2 && positives >= folds && negatives >= folds) {
        const cols = combo.map((s) => badness(values.map((r) => r[s.name]), s.direction));
        const X = values.map((_, i) => cols.map((c) => c[i]));
        const oof = outOfFold(X, y, folds, seed);
        const boot = bootstrapCalibration(y, oof, median(oof), { resamples, seed });
        res.signals.push({
          signal: `logistic of the ${combo.length} signals above`,
          heuristic: "combined",
          direction: "lower_is_better",
          present: y.length,
          auc: boot.auc.estimate,
          low: boot.auc.low,
          high: boot.auc.high,
          outOfFold: true,
        });
      }
    }
    results.push(res);
  }
  return {
    labels: shownPath(labelsFile),
    heuristics: heuristics.map((h) => h.name),
    images: ok.length,
    failedRows,
    resamples,
    seed,
    folds,
    errorTypes: results,
  };
}

/**
 * `usable_score` measured honestly on the validity images: the shipped scorer's features and C
 * ({@link USABLE_FEATURES}, {@link USABLE_C}) refitted per fold, every image scored by a model that
 * did not see it. Undefined when the rows lack a feature column.
 */
function refitUsable(
  rows: readonly Row[],
  unusable: number[],
  o: { folds: number; seed: number; resamples: number },
): SignalResult | undefined {
  if (!rows.length || USABLE_FEATURES.some((f) => !(f.name in rows[0]))) return undefined;
  const X = rows.map((r) => featureVector({ features: [...USABLE_FEATURES] }, r));
  // Fitted and bootstrapped as `deno task fit usable` does (target usable = 1), so the AUC is the
  // one in the scorer file's provenance when the rows are the shipped labels.
  const usableY = unusable.map((v) => 1 - v);
  const p = outOfFoldLogistic(X, usableY, { folds: o.folds, seed: o.seed, C: USABLE_C });
  const boot = aucWithInterval(usableY, p, { resamples: o.resamples, seed: o.seed });
  return {
    signal: `usable_score (its ${USABLE_FEATURES.length} features refitted per fold)`,
    heuristic: "usable",
    direction: "higher_is_better",
    present: rows.length,
    auc: boot.auc,
    low: boot.low,
    high: boot.high,
    outOfFold: true,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

/** Out-of-fold logits of a logistic model (stratified folds; each image scored by a model that did not see it). */
function outOfFold(X: number[][], y: number[], k: number, seed: number): number[] {
  const fold = stratifiedFolds(y, k, seed);
  const oof = new Array<number>(y.length).fill(NaN);
  for (let f = 0; f < k; f++) {
    const train = y.flatMap((_, i) => (fold[i] !== f ? [i] : []));
    const test = y.flatMap((_, i) => (fold[i] === f ? [i] : []));
    const m = fitLogistic(train.map((i) => X[i]), train.map((i) => y[i]));
    predictLogit(m, test.map((i) => X[i])).forEach((v, r) => (oof[test[r]] = v));
  }
  return oof;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "—");

/**
 * The report as a Markdown table: one row per error type and signal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validityMarkdown } from "./validity.ts";
 * const md = validityMarkdown({
 *   labels: "l.csv", heuristics: ["text"], images: 3, failedRows: 0, resamples: 10, seed: 0, folds: 5,
 *   errorTypes: [{ errorType: "garbled_text", positives: 1, negatives: 2, signals: [
 *     { signal: "text_garbled_score", heuristic: "text", direction: "lower_is_better", present: 2, auc: 1, low: 1, high: 1 },
 *   ] }],
 * });
 * assert.match(md, /\| garbled_text \| 1 \/ 3 \| text_garbled_score \| 1\.000 \| 1\.000–1\.000 \| 2 \|/);
 * ```
 */
export function validityMarkdown(r: ValidityReport): string {
  const lines = [
    `Labels: ${r.labels}; ${r.images} images scored` +
    (r.failedRows ? `, ${r.failedRows} failed (left out)` : "") +
    `; heuristics: ${r.heuristics.join(", ")}. AUC of images with the error against all others; ` +
    `95 % stratified bootstrap interval (${r.resamples} resamples, seed ${r.seed}); ` +
    `"oof" = fitted, AUC of ${r.folds}-fold out-of-fold predictions.`,
    "",
    "| error type | positives / images | signal | AUC | 95 % interval | with a value |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const t of r.errorTypes) {
    const n = `${t.positives} / ${t.positives + t.negatives}`;
    if (!t.signals.length) {
      lines.push(`| ${t.errorType} | ${n} | — (${t.note ?? "nothing measured"}) | | | |`);
      continue;
    }
    for (const s of t.signals) {
      lines.push(
        `| ${t.errorType} | ${n} | ${s.signal}${s.outOfFold ? " (oof)" : ""} | ${fmt(s.auc)} | ${
          fmt(s.low)
        }–${fmt(s.high)} | ${s.present} |`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** Writes `validity.json` and `validity.md` into `dir` (created if needed); returns their paths. */
export async function writeValidity(
  r: ValidityReport,
  dir: string,
): Promise<{ json: string; markdown: string }> {
  await Deno.mkdir(dir, { recursive: true });
  const json = `${dir}/validity.json`, markdown = `${dir}/validity.md`;
  await Deno.writeTextFile(json, JSON.stringify(r, null, 2) + "\n");
  await Deno.writeTextFile(markdown, validityMarkdown(r));
  return { json, markdown };
}

/** One signal's ROC for "a person kept the image", with its AUC and interval. */
export interface UsableCurve {
  signal: string;
  /** True for `usable_score` refitted per fold. */
  outOfFold: boolean;
  auc: number;
  low: number;
  high: number;
  curve: RocCurve;
}

/** What {@link usableCurves} measured. */
export interface UsableCurves {
  labels: string;
  scores: string;
  images: number;
  unusable: number;
  curves: UsableCurve[];
  /**
   * Per error type named by a rejected image, the usable score's out-of-fold AUC if those images
   * were all caught (`headroom.ts`), largest gain first; empty without the usable columns.
   */
  headroom: ErrorHeadroom[];
}

/**
 * The usability score (refitted per fold, as in `deno task validity`) against every single
 * directional signal of a score table, for "a person kept the image": ROC curve, AUC and a
 * stratified bootstrap 95 % interval of each, best first. A single signal is oriented by the
 * registry's direction, never fitted (empty = least suspicious), so its AUC is not optimistic; the
 * usable score's is out of fold but its features were chosen on the shipped labels.
 *
 * @example
 * ```ts ignore
 * import { usableCurves } from "./validity.ts";
 * const r = await usableCurves({ scores: "data/models/labels_scores.csv" });
 * console.log(r.curves.slice(0, 4).map((c) => `${c.signal} ${c.auc.toFixed(3)}`));
 * ```
 */
export async function usableCurves(o: {
  labels?: string;
  scores?: string;
  resamples?: number;
  seed?: number;
  folds?: number;
} = {}): Promise<UsableCurves> {
  const labelsFile = o.labels ?? DEFAULT_LABELS, scoresFile = o.scores ?? DEFAULT_LABEL_SCORES;
  const resamples = o.resamples ?? 1000, seed = o.seed ?? 0, folds = o.folds ?? 5;
  const labels = await loadImageLabels(labelsFile);
  const rows = await readResults(scoresFile);
  const tableRows = rows.map((r) => ({ ...r, path: resolveRowPath(r.path, scoresFile) }));
  const scored = pairLabels(labels.rows, tableRows).pairs.filter((p) => !p.row.error);
  const ok = scored.map((p) => p.label);
  if (!ok.length) throw new Error(`${scoresFile}: no row for an image of ${labelsFile}`);
  const values = scored.map((p) => p.row);
  const y = ok.map((l) => (l.usable ? 1 : 0));
  const curves: UsableCurve[] = [];
  let headroom: ErrorHeadroom[] = [];
  const refit = refitUsable(values, y.map((v) => 1 - v), { folds, seed, resamples });
  if (refit) {
    const X = values.map((r) => featureVector({ features: [...USABLE_FEATURES] }, r));
    const p = outOfFoldLogistic(X, y, { folds, seed, C: USABLE_C });
    curves.push({ ...refit, signal: refit.signal, outOfFold: true, curve: rocCurve(y, p) });
    headroom = headroomByError(y, p, ok.map((l) => l.errors)).errors;
  }
  for (const h of HEURISTICS) {
    if (FITTED_HEURISTICS.includes(h.name)) continue;
    for (const out of h.outputs) {
      if (out.direction === "neither" || (out.type ?? "number") !== "number") continue;
      if (!values.some((r) => typeof r[out.name] === "number")) continue;
      const s = badness(values.map((r) => r[out.name]), out.direction).map((v) => -v);
      const iv = aucWithInterval(y, s, { resamples, seed });
      curves.push({
        signal: out.name,
        outOfFold: false,
        auc: iv.auc,
        low: iv.low,
        high: iv.high,
        curve: rocCurve(y, s),
      });
    }
  }
  curves.sort((a, b) => b.auc - a.auc);
  return {
    labels: shownPath(labelsFile),
    scores: shownPath(scoresFile),
    images: y.length,
    unusable: y.filter((v) => v === 0).length,
    curves,
    headroom,
  };
}
