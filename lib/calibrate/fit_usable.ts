/**
 * The usability scorer's recipe parts (`usable_score`, `lib/heuristics/usable.ts`; fitted by
 * `deno task fit usable`, `fit_recipes.ts`): its features, the labeled rows it learns from, and the
 * default threshold derived from its out-of-fold scores (chosen on scores of images the model did
 * not see, by a stated strategy, not by eye) that `deno task fit usable --out-thresholds` writes.
 *
 * Scores come from a score table (`scores`: any table with the feature columns, e.g. the shipped
 * {@link DEFAULT_LABEL_SCORES}) or, without one, from scoring the labeled images with the
 * heuristics the features come from.
 *
 * @module
 */
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadImageLabels } from "../labels/format.ts";
import { pairLabels } from "../labels/join.ts";
import { readResults, type Row } from "../score/results.ts";
import { runScoreJob } from "../score/job.ts";
import type { ThresholdRule } from "../score/rules.ts";
import { sourcesOf } from "../heuristics/usable.ts";
import { HEURISTICS } from "../heuristics/registry.ts";
import { type ScorerFeature, type Transform, TRANSFORMS } from "../models/scorer.ts";
import { WinnowError } from "../core/errors.ts";
import { shownPath } from "../core/files.ts";
import { stableSubset } from "../core/random.ts";
import { chooseThreshold, type Strategy } from "./thresholds.ts";
import { quantileSorted } from "./bootstrap.ts";

/** The shipped labels the default scorer is fitted on (relative to the project). */
export const DEFAULT_FIT_LABELS = "data/labels/images.csv";
/**
 * Score table of every offline heuristic on the shipped labels (what data/models/usable.json was
 * fitted on); its paths are relative to its folder ({@link resolveRowPath}).
 */
export const DEFAULT_LABEL_SCORES: string = fileURLToPath(
  new URL("../../data/models/labels_scores.csv", import.meta.url),
);

/**
 * The file a score-table row names: absolute paths as they are, a relative one (a shipped table
 * that must work from any folder) relative to the table's own folder, as in label files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveRowPath } from "./fit_usable.ts";
 * assert.equal(resolveRowPath("../labels/images/a.jpg", "/p/data/models/s.csv"), "/p/data/labels/images/a.jpg");
 * assert.equal(resolveRowPath("/x/a.jpg", "/p/s.csv"), "/x/a.jpg");
 * ```
 */
export function resolveRowPath(path: unknown, table: string): string {
  return resolve(dirname(resolve(table)), String(path));
}
/** Where the shipped scorer and the default thresholds derived from it live. */
export const DEFAULT_USABLE_OUT = "data/models/usable.json";
export const DEFAULT_THRESHOLDS_OUT = "data/models/thresholds.json";

/**
 * The usability scorer's inputs. Few on purpose (27–30 unusable images to fit on): the prominent
 * garbled-text score (the largest class of rejects is garbled text; specks read in textures are
 * discounted), how much text there is (text is where generators fail most), colourfulness and the
 * NSFW model's "neutral" probability (the two image-level signals that separated best on the
 * labels — chosen on them, hence optimistic), and the language implausibility of the words read
 * (`text_lm_implausibility`: garbled lettering the OCR reads confidently as letters; added after
 * the nested study of `deno task usable-study` measured it best of 13 new candidates, a gain
 * smaller than the spread over fold seeds).
 */
export const USABLE_FEATURES: readonly ScorerFeature[] = [
  { name: "text_prominent_garbled_score", transform: "identity", missing: 0 },
  { name: "text_regions", transform: "log1p", missing: 0 },
  { name: "colorfulness", transform: "identity", missing: 0 },
  { name: "nsfw_neutral", transform: "identity", missing: 0 },
  { name: "text_lm_implausibility", transform: "identity", missing: 0 },
];

/** Regularisation of the shipped scorer (scikit-learn's C on standardised features). */
export const USABLE_C = 0.1;

/** Settings of the heuristics when the shipped label scores were made. */
export const USABLE_SCORE_SETTINGS: Record<string, Record<string, unknown>> = {};

/** A fit that cannot run (no labeled image in the score table, one class only, …). */
export class FitError extends WinnowError {}

/**
 * One column asked for as a feature (`--features NAME[:TRANSFORM],…`): a transform or missing
 * value left out is filled by {@link resolveFeatures}.
 */
export interface FeatureRequest {
  name: string;
  transform?: Transform;
  missing?: number;
}

/**
 * Parses a `--features` list: score-table column names separated by commas, each optionally
 * followed by `:TRANSFORM` (`identity`, `log1p`, `present`; see `lib/models/scorer.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFeatureList } from "./fit_usable.ts";
 * assert.deepEqual(parseFeatureList("text_regions:log1p, clip_score"), [
 *   { name: "text_regions", transform: "log1p" },
 *   { name: "clip_score" },
 * ]);
 * assert.throws(() => parseFeatureList("a:sqrt"), /--features: "a:sqrt": unknown transform "sqrt"/);
 * ```
 */
export function parseFeatureList(spec: string): FeatureRequest[] {
  const out: FeatureRequest[] = [];
  for (const item of spec.split(",").map((s) => s.trim())) {
    const m = /^([^:\s]+)(?::(.*))?$/.exec(item);
    if (!m) {
      throw new FitError(
        `--features: expected NAME[:TRANSFORM],… (e.g. text_regions:log1p,clip_score), got "${spec}"`,
      );
    }
    if (out.some((f) => f.name === m[1])) throw new FitError(`--features: column "${m[1]}" is named twice`);
    if (m[2] === undefined) out.push({ name: m[1] });
    else if (!(TRANSFORMS as readonly string[]).includes(m[2])) {
      throw new FitError(
        `--features: "${item}": unknown transform "${m[2]}" (known: ${TRANSFORMS.join(", ")})`,
      );
    } else out.push({ name: m[1], transform: m[2] as Transform });
  }
  return out;
}

/** Median of the finite numbers of `values` (NaN when there is none). */
function medianOf(values: readonly unknown[]): number {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return quantileSorted(v.sort((a, b) => a - b), 0.5);
}

/**
 * Complete features from requests and the training rows. A column of the shipped scorer
 * ({@link USABLE_FEATURES}) keeps its declared transform (unless one is given) and missing value
 * (0: "no text", …). Any other column: transform `identity` unless given, and an empty value is
 * replaced by the median of the column over the training rows that have one (a rule that needs no
 * label; `present` needs none: its missing is 0). `notes` says, per column, what was filled and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveFeatures } from "./fit_usable.ts";
 * const rows = [{ clip_score: 0.2 }, { clip_score: null }, { clip_score: 0.3 }, { clip_score: 0.9 }];
 * const { features } = resolveFeatures([{ name: "text_regions" }, { name: "clip_score" }], rows);
 * assert.deepEqual(features, [
 *   { name: "text_regions", transform: "log1p", missing: 0 },
 *   { name: "clip_score", transform: "identity", missing: 0.3 },
 * ]);
 * ```
 */
export function resolveFeatures(
  requests: readonly FeatureRequest[],
  rows: readonly Record<string, unknown>[],
): { features: ScorerFeature[]; notes: string[] } {
  const notes: string[] = [];
  const features = requests.map((r): ScorerFeature => {
    const declared = USABLE_FEATURES.find((f) => f.name === r.name);
    const transform = r.transform ?? declared?.transform ?? "identity";
    if (r.missing !== undefined) return { name: r.name, transform, missing: r.missing };
    if (declared) return { name: r.name, transform, missing: declared.missing };
    if (transform === "present") return { name: r.name, transform, missing: 0 };
    const values = rows.map((x) => x[r.name]);
    const median = medianOf(values);
    const have = values.filter((x) => typeof x === "number" && Number.isFinite(x)).length;
    notes.push(
      `${r.name}: empty → ${median} (median of the ${have} of ${rows.length} training rows with a value)`,
    );
    return { name: r.name, transform, missing: median };
  });
  return { features, notes };
}

/** Options of {@link usableRows}. */
export interface UsableRowsOptions {
  /** images.csv (default {@link DEFAULT_FIT_LABELS}). */
  labels?: string;
  /** Score table with the feature columns; without it the labeled images are scored. */
  scores?: string;
  /** Use at most this many labeled images (a seeded subset keeping every unusable one). */
  limit?: number;
  /** Leave out these labeled images (resolved paths), e.g. a demo's test images. */
  exclude?: ReadonlySet<string>;
  /**
   * Features whose columns are needed (default {@link USABLE_FEATURES}); a transform or missing
   * value left out is filled by {@link resolveFeatures}. Each must be a column some heuristic
   * produces (the `usable` heuristic computes it when it runs).
   */
  features?: readonly FeatureRequest[];
  jobs?: number;
  /** Where scores are written when scoring (default a temporary folder, removed). */
  workDir?: string;
  /** Resume the score table in `workDir` instead of starting it afresh (same heuristics and settings). */
  resume?: boolean;
  settings?: Record<string, Record<string, unknown>>;
  quiet?: boolean;
}

/** Labeled images as score rows (1 = usable), their resolved paths, and notes for the provenance. */
export interface UsableRows {
  rows: Record<string, unknown>[];
  y: number[];
  paths: string[];
  /** The features, complete ({@link resolveFeatures}). */
  features: ScorerFeature[];
  notes: Record<string, unknown>;
}

/** Re-exported: `core/files.ts` owns it. */
export { shownPath };

/**
 * The labeled rows of the usability scorer: one per labeled image with a score row, target
 * `usable = yes`.
 *
 * @example
 * ```ts ignore
 * import { usableRows } from "./fit_usable.ts";
 * const { rows, y } = await usableRows({ scores: "data/models/labels_scores.csv" });
 * ```
 */
export async function usableRows(o: UsableRowsOptions = {}): Promise<UsableRows> {
  const labelsFile = o.labels ?? DEFAULT_FIT_LABELS;
  const features = o.features ?? USABLE_FEATURES;
  const table = o.scores ?? "the scores of the labeled images";
  let sources;
  try {
    sources = sourcesOf({ features }, HEURISTICS);
  } catch (e) {
    throw new FitError(`${table}: ${(e as Error).message.replace(/^usable: /, "")}`);
  }
  const labels = await loadImageLabels(labelsFile, { checkFiles: !o.scores });
  let labeled = labels.rows.map((r) => ({ ...r, path: resolve(r.path) }));
  if (o.exclude) labeled = labeled.filter((l) => !o.exclude!.has(l.path));
  if (o.limit !== undefined) {
    labeled = stableSubset(labeled, o.limit, {
      key: (l) => relative(dirname(resolve(labelsFile)), l.path),
      keep: (l) => !l.usable,
    });
  }
  let rows: Row[];
  if (o.scores) rows = await readResults(o.scores);
  else {
    const names = sources.map((h) => h.name);
    const dir = o.workDir ?? await Deno.makeTempDir({ prefix: "winnow_fit_" });
    if (o.workDir) await Deno.mkdir(o.workDir, { recursive: true });
    try {
      rows = (await runScoreJob(labeled.map((l) => l.path), `${dir}/usable_scores.csv`, {
        heuristics: names,
        jobs: o.jobs ?? 2,
        settings: { ...USABLE_SCORE_SETTINGS, ...(o.settings ?? {}) },
        restart: !(o.resume && o.workDir),
        quiet: o.quiet,
      })).rows;
    } finally {
      if (!o.workDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
  // A table read from a file: its relative paths are relative to its folder (the shipped one).
  const tableRows = o.scores ? rows.map((r) => ({ ...r, path: resolveRowPath(r.path, o.scores!) })) : rows;
  const pairs = pairLabels(labeled, tableRows).pairs.filter((p) => !p.row.error);
  if (!pairs.length) {
    throw new FitError(
      `no image of ${labelsFile} has a row in ${o.scores ?? "the scores"} (relative paths in a score ` +
        `table are matched as resolved from the table's folder)`,
    );
  }
  const missing = features.filter((f) => !(f.name in pairs[0].row));
  if (missing.length) {
    throw new FitError(
      `${o.scores ?? "scores"}: no column ${missing.map((f) => f.name).join(", ")} ` +
        `(score with the heuristics ${
          sourcesOf({ features: missing }, HEURISTICS).map((h) => h.name).join(", ")
        })`,
    );
  }
  for (const f of features) {
    if (!pairs.some((p) => typeof p.row[f.name] === "number" && Number.isFinite(p.row[f.name]))) {
      throw new FitError(
        `${table}: column ${f.name} has no numeric value in its ${pairs.length} labeled rows ` +
          `(empty or text: it cannot be a feature)`,
      );
    }
  }
  const ok = pairs.map((p) => p.label);
  const resolved = resolveFeatures(features, pairs.map((p) => p.row));
  return {
    rows: pairs.map((p) => p.row),
    y: ok.map((l) => (l.usable ? 1 : 0)),
    paths: ok.map((l) => l.path),
    features: resolved.features,
    notes: {
      rowsAre: "labeled images (1 = usable yes, 0 = no) with a score row",
      ...(o.scores ? { scores: shownPath(o.scores) } : {}),
      imagesWithoutScores: labeled.length - ok.length,
      unusable: ok.filter((l) => !l.usable).length,
      optimism: "features and C were chosen looking at these labels, so the out-of-fold AUC is " +
        "optimistic; a set kept apart is the judge",
      ...(resolved.notes.length ? { missingValues: resolved.notes.join("; ") } : {}),
    },
  };
}

/**
 * How the default `usable_score` threshold is chosen: the most precise threshold that keeps at
 * least 90 % of the images people kept (a filter that throws away more than one good image in ten
 * is not a sensible default; Youden's J on these labels threw away a third of them).
 */
export const DEFAULT_USABLE_STRATEGY: { strategy: Strategy; target?: number } = {
  strategy: "recall",
  target: 0.9,
};

/**
 * The default rule on `usable_score`, chosen on out-of-fold scores `oof` of labels `y` (1 = usable)
 * by `strategy` (default {@link DEFAULT_USABLE_STRATEGY}): keep `usable_score ≥ t`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usableRule } from "./fit_usable.ts";
 * const r = usableRule([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "l.csv", "fit", "youden");
 * assert.deepEqual([r.column, r.min, r.error_type], ["usable_score", 0.3, "unusable"]);
 * ```
 */
export function usableRule(
  y: readonly number[],
  oof: readonly number[],
  labels: string,
  command: string,
  strategy: Strategy = DEFAULT_USABLE_STRATEGY.strategy,
  target: number | undefined = DEFAULT_USABLE_STRATEGY.target,
): ThresholdRule {
  const choice = chooseThreshold(y, oof, { strategy, target });
  const p = choice.point;
  return {
    column: "usable_score",
    min: +choice.threshold.toFixed(6),
    error_type: "unusable",
    source: `calibrated (${choice.description}) on the out-of-fold usable_score of ${labels}: ` +
      `rejects ${p.tn} of ${p.tn + p.fp} unusable and ${p.fn} of ${p.tp + p.fn} usable images ` +
      `(keeps ${(100 * p.keptFraction).toFixed(0)} %); refit: ${command}`,
  };
}
