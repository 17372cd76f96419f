/**
 * Recipes of the learned scorers winnow ships: for each scorer name, which labels it learns from,
 * how labeled rows are built (scoring the labeled images when no score table is given), its
 * features and regularisation. `deno task fit NAME` runs one ({@link fitRecipe}) and writes a
 * `winnow-scorer/1` file (`lib/models/scorer.ts`) that `score` reads.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import {
  type FaceLabel,
  loadFaceLabels,
  matchFaces,
  SHIPPED_FACE_LABELS,
  SHIPPED_IMAGE_LABELS,
} from "../labels/format.ts";
import type { ThresholdRule } from "../score/rules.ts";
import {
  type FeatureRequest,
  FitError,
  USABLE_C,
  USABLE_FEATURES,
  usableRows,
  usableRule,
} from "./fit_usable.ts";
import { detailColumns, runScoreJob } from "../score/job.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import { DEFAULT_FIND_CONFIDENCE } from "../heuristics/faces.ts";
import { readResults, type Row } from "../score/results.ts";
import { stableSubset } from "../core/random.ts";
import { quantileSorted } from "./bootstrap.ts";
import type { Scorer, ScorerFeature } from "../models/scorer.ts";
import { fitScorer, type FitScorerResult } from "./fit_scorer.ts";
import { writeAtomic } from "../core/atomic.ts";
import { shownPath } from "../core/files.ts";

/** Labeled rows a scorer is fitted on: feature columns by name, the target, subsets to report. */
export interface LabeledRows {
  rows: Record<string, unknown>[];
  /** 1 = the scorer's target (e.g. a face rated 4–5), 0 = the other class. */
  y: number[];
  groups?: Record<string, boolean[]>;
  /** The features, when the recipe completes them from the rows (else the recipe's own). */
  features?: ScorerFeature[];
  /** How the rows were made (counts left out and why), for the provenance. */
  notes: Record<string, unknown>;
  /** The label row each row was made from (face recipe: the labeled face), in row order. */
  labeled?: FaceLabel[];
}

/** Options of a recipe's row builder and of {@link fitRecipe}. */
export interface RecipeOptions {
  /** Label file (default: the recipe's shipped labels). */
  labels?: string;
  /** A score table to use instead of scoring the labeled images (per-face table for face scorers). */
  scores?: string;
  /** Use at most this many labeled images (a seeded subset keeping every image with a bad label). */
  limit?: number;
  /** Score workers when scoring (default 2). */
  jobs?: number;
  /** Where scores are written when scoring (default a temporary folder, removed). */
  workDir?: string;
  /**
   * Resume the score tables in `workDir` (images already scored there are not scored again)
   * instead of starting them afresh; the settings must be the same as the earlier run's.
   */
  resume?: boolean;
  /** Heuristic settings for the scoring run, merged over the recipe's own. */
  settings?: Record<string, Record<string, unknown>>;
  /**
   * Columns to fit on instead of the recipe's features (`--features`), for a recipe that takes
   * them ({@link FitRecipe.featureChoice}).
   */
  features?: readonly FeatureRequest[];
  quiet?: boolean;
}

/** How one learned scorer is fitted. */
export interface FitRecipe {
  name: string;
  output: string;
  /** What a score near 1 means. */
  target: string;
  description: string;
  /** Default label file. */
  labels: string;
  features: ScorerFeature[];
  /** Whether `features` may be replaced (`--features`; the rows builder completes them). */
  featureChoice?: boolean;
  /** Regularisation (scikit-learn's C). */
  C: number;
  /** Builds the labeled rows. */
  build(o: RecipeOptions): Promise<LabeledRows>;
  /**
   * The default threshold rule derived from the out-of-fold scores (`deno task fit NAME
   * --out-thresholds FILE`); absent when the scorer has no image-level rule.
   */
  rule?(y: readonly number[], outOfFold: readonly number[], labels: string, command: string): ThresholdRule;
  /** Further columns whose single-signal AUCs are reported beside the features'. */
  report?: readonly string[];
  /** Further provenance from the out-of-fold scores (e.g. a suggested rule threshold). */
  summarize?(data: LabeledRows, outOfFold: readonly number[]): Record<string, unknown>;
}

/**
 * A rule threshold read off out-of-fold scores: the `keep` quantile of the scores of class-1 rows
 * (e.g. 0.05: about 5 % of good faces fall below it), and how many rows of each class fall below.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thresholdKeeping } from "./fit_recipes.ts";
 * const t = thresholdKeeping([1, 1, 1, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.65, 0.1], 0.25);
 * assert.ok(Math.abs(t.threshold - 0.675) < 1e-12);
 * assert.deepEqual([t.class1Below, t.class0Below], [1, 2]);
 * ```
 */
export function thresholdKeeping(
  y: readonly number[],
  scores: readonly number[],
  quantile: number,
): { threshold: number; class1Below: number; class1: number; class0Below: number; class0: number } {
  const good = scores.filter((_, i) => y[i] === 1).sort((a, b) => a - b);
  const threshold = quantileSorted(good, quantile);
  const below = (c: number) => scores.filter((s, i) => y[i] === c && s < threshold).length;
  return {
    threshold,
    class1Below: below(1),
    class1: good.length,
    class0Below: below(0),
    class0: y.length - good.length,
  };
}

/** Detector threshold the face recipe finds faces at: the `faces` heuristic's default. */
export const FACE_FIT_FIND_CONFIDENCE: number = DEFAULT_FIND_CONFIDENCE;

/** Share of good faces the suggested `bad_face` rule may reject (see `thresholdKeeping`). */
export const FACE_RULE_GOOD_BELOW = 0.1;

/** A face of at least this many pixels on its shorter (labeled) side counts as "≥ 32 px". */
export const LARGE_FACE_PX = 32;

/**
 * Features of `face_quality`: columns of the `faces` table (`lib/heuristics/face_features.ts`):
 * the sharpness of the face at a fixed size (its log), a second detector's score on a 2× crop, and
 * how far the 68 landmarks are from the mean face shape. Few on purpose: 6 bad faces cannot carry
 * more. Size is left out: at a fixed crop size the sharpness already says how few pixels a face
 * has (a small face enlarged to 64×64 has a low Laplacian variance).
 */
export const FACE_QUALITY_FEATURES: ScorerFeature[] = [
  { name: "crop_sharpness", transform: "log1p", missing: 0 },
  { name: "blaze_score", transform: "identity", missing: 0 },
  { name: "landmark_distance", transform: "identity", missing: 0 },
];

/** Name of the bad-face group in the face scorer's provenance. */
export const BAD_FACE_GROUP = "bad faces (quality ≤ 2) vs good (≥ 4)";

/** Name of the bad-face group among large faces. */
export const LARGE_BAD_FACE_GROUP = "bad faces vs good, faces ≥ 32 px";

function faceTableColumns() {
  return detailColumns(resolveHeuristics(["faces"])[0].details!.find((d) => d.name === "faces")!);
}

async function faceRows(o: RecipeOptions, labelsFile: string): Promise<LabeledRows> {
  const labels = await loadFaceLabels(labelsFile, { checkFiles: true });
  if (labels.rejected) {
    throw new Error(
      `${labelsFile}: ${labels.rejected} face label rows rejected: ${labels.issues[0]?.message}`,
    );
  }
  const badImages = new Set(labels.rows.filter((f) => f.quality <= 2).map((f) => f.path));
  let images = [...new Set(labels.rows.map((f) => f.path))];
  if (o.limit !== undefined) {
    images = stableSubset(images, o.limit, {
      key: (p) => relative(dirname(labelsFile), p),
      keep: (p) => badImages.has(p),
    });
  }
  const chosen = new Set(images);
  const faceLabels = labels.rows.filter((f) => chosen.has(f.path));
  let detected: Row[];
  let tmp: string | undefined;
  if (o.scores) {
    detected = await readResults(o.scores, faceTableColumns());
  } else {
    const dir = o.workDir ?? (tmp = await Deno.makeTempDir({ prefix: "winnow_fit_" }));
    await Deno.mkdir(dir, { recursive: true });
    const facesFile = join(dir, "fit_faces.csv");
    await runScoreJob(images, join(dir, "fit_scores.csv"), {
      heuristics: ["faces"],
      settings: {
        ...(o.settings ?? {}),
        faces: {
          findConfidence: FACE_FIT_FIND_CONFIDENCE,
          // Every face found gets the model measures (the default skips those below judgeConfidence).
          qualityConfidence: FACE_FIT_FIND_CONFIDENCE,
          ...(o.settings?.faces ?? {}),
          qualityModel: "none",
        },
      },
      details: { faces: facesFile },
      jobs: o.jobs ?? 2,
      quiet: o.quiet,
      restart: !o.resume,
    });
    detected = await readResults(facesFile, faceTableColumns());
    if (tmp) await Deno.remove(tmp, { recursive: true });
  }
  const boxes = detected.filter((r) => chosen.has(resolve(String(r.path)))).map((r) => ({
    ...r,
    path: resolve(String(r.path)),
    x: Number(r.x),
    y: Number(r.y),
    width: Number(r.width),
    height: Number(r.height),
  }));
  const m = matchFaces(boxes, faceLabels, 0.5);
  const unmeasured = m.matches.filter((p) => {
    const r = p.detected as Record<string, unknown>;
    return FACE_QUALITY_FEATURES.some((f) => r[f.name] === null || r[f.name] === "");
  });
  if (unmeasured.length && o.scores) {
    throw new Error(
      `${o.scores}: ${unmeasured.length} labeled faces found have no ${
        FACE_QUALITY_FEATURES.map((f) => f.name).join("/")
      } (score --faces computes the model measures from faces.qualityConfidence up, default 0.3): ` +
        "score with --set faces.qualityConfidence=0.1",
    );
  }
  // Fitted on good (≥ 4) against not good (≤ 3): 6 bad faces alone cannot carry a model, and the
  // faces rated 3 are mostly the same failures, milder. Judged on bad (≤ 2) against good (≥ 4).
  const rows: Record<string, unknown>[] = [], y: number[] = [], bad: boolean[] = [], badLarge: boolean[] = [];
  for (const p of m.matches) {
    const q = p.labeled.quality;
    rows.push(p.detected);
    y.push(q >= 4 ? 1 : 0);
    bad.push(q !== 3);
    badLarge.push(q !== 3 && Math.min(p.labeled.width, p.labeled.height) >= LARGE_FACE_PX);
  }
  return {
    rows,
    y,
    labeled: m.matches.map((p) => p.labeled),
    groups: { [BAD_FACE_GROUP]: bad, [LARGE_BAD_FACE_GROUP]: badLarge },
    notes: {
      rowsAre: "labeled faces matched by IoU ≥ 0.5 to a detected face; class 1 = quality ≥ 4, " +
        "class 0 = quality ≤ 3; the bad-face groups measure quality ≤ 2 against ≥ 4",
      images: images.length,
      labeledFaces: faceLabels.length,
      detectedFaces: boxes.length,
      labeledFacesSeen: m.matches.length,
      labeledFacesMissed: m.unmatchedLabeled.length,
      badFacesSeen: m.matches.filter((p) => p.labeled.quality <= 2).length,
      badFacesLabeled: faceLabels.filter((f) => f.quality <= 2).length,
      detectedFacesWithoutLabel: m.unmatchedDetected.length,
      unlabeledDetections: "left out of the fit: the labels cover only crops both raters called a " +
        "face, so an unmatched box may be a missed face or no face",
    },
  };
}

/** Every recipe, by scorer name. */
export const FIT_RECIPES: Readonly<Record<string, FitRecipe>> = {
  face_quality: {
    name: "face_quality",
    output: "face_quality",
    target: "a person rates the face 4–5 (good) rather than 1–3",
    description: "per detected face, from the columns of the faces table; labels: faces.csv",
    labels: SHIPPED_FACE_LABELS,
    features: FACE_QUALITY_FEATURES,
    report: ["log10_area", "confidence", "crop_contrast", "crop_saturation", "crop_symmetry", "skin_ratio"],
    C: 0.1,
    build: (o) => faceRows(o, resolve(o.labels ?? SHIPPED_FACE_LABELS)),
    summarize(data, oof) {
      // The bad_face rule's threshold: the out-of-fold score below which 10 % of good faces fall
      // (and, for comparison, 5 % and 20 %).
      const idx = data.groups![BAD_FACE_GROUP].flatMap((b, i) => (b ? [i] : []));
      const rule = (q: number) => {
        const t = thresholdKeeping(idx.map((i) => data.y[i]), idx.map((i) => oof[i]), q);
        return {
          output: "face_min_quality",
          min: +t.threshold.toFixed(3),
          goodFacesBelow: `${t.class1Below} of ${t.class1}`,
          badFacesBelow: `${t.class0Below} of ${t.class0}`,
          how: `the ${q * 100} % quantile of the out-of-fold face_quality of good faces`,
        };
      };
      return {
        suggestedRule: rule(FACE_RULE_GOOD_BELOW),
        otherRules: [rule(0.05), rule(0.2)],
      };
    },
  },
  usable: {
    name: "usable",
    output: "usable_score",
    target: "a person would keep the image (labels' usable = yes)",
    description: "per image, from text, colour and NSFW columns; labels: images.csv (usable yes/no)",
    labels: SHIPPED_IMAGE_LABELS,
    features: [...USABLE_FEATURES],
    featureChoice: true,
    C: USABLE_C,
    build: (o) => usableRows({ ...o, labels: resolve(o.labels ?? SHIPPED_IMAGE_LABELS) }),
    rule: (y, oof, labels, command) => usableRule(y, oof, labels, command),
  },
};

/** Options of {@link fitRecipe}. */
export interface FitRecipeOptions extends RecipeOptions {
  folds?: number;
  seed?: number;
  resamples?: number;
  repeats?: number;
  C?: number;
  /** The command line to record as "how to refit". */
  command?: string;
}

/**
 * Fits scorer `name` by its recipe: builds the labeled rows, fits (out-of-fold AUC with interval,
 * single signals, groups), and returns the scorer with the out-of-fold scores.
 *
 * @example
 * ```ts ignore
 * import { fitRecipe } from "./fit_recipes.ts";
 * const { scorer } = await fitRecipe("face_quality", { limit: 40 });
 * console.log(scorer.provenance.outOfFold);
 * ```
 */
export async function fitRecipe(
  name: string,
  o: FitRecipeOptions = {},
): Promise<FitScorerResult & { data: LabeledRows }> {
  const recipe = FIT_RECIPES[name];
  if (!recipe) {
    throw new Error(`no fit recipe "${name}"; known: ${Object.keys(FIT_RECIPES).join(", ")}`);
  }
  if (o.features && !recipe.featureChoice) {
    throw new FitError(
      `--features: the ${name} scorer's features are fixed (${
        recipe.features.map((f) => f.name).join(", ")
      })`,
    );
  }
  const labels = resolve(o.labels ?? recipe.labels);
  const data = await recipe.build({ ...o, labels });
  const features = data.features ?? recipe.features;
  if (o.features) {
    data.notes = { featureList: features.map((f) => `${f.name}:${f.transform}`).join(","), ...data.notes };
  }
  const pos = data.y.filter((v) => v === 1).length;
  if (pos === 0 || pos === data.y.length) {
    throw new Error(`${name}: the labeled rows hold one class only (${pos} of ${data.y.length} are 1)`);
  }
  const r = fitScorer(data.rows, data.y, {
    name: recipe.name,
    output: recipe.output,
    target: recipe.target,
    features,
    C: o.C ?? recipe.C,
    folds: o.folds,
    seed: o.seed,
    resamples: o.resamples,
    repeats: o.repeats,
    groups: data.groups,
    report: recipe.report,
    labels: shownPath(labels),
    command: o.command ?? `deno task fit ${name} --labels ${shownPath(labels)}`,
    notes: data.notes,
  });
  if (recipe.summarize) Object.assign(r.scorer.provenance, recipe.summarize(data, r.outOfFold));
  return { ...r, data };
}

/** Writes a scorer as pretty JSON, atomically (a temporary file renamed into place). */
export async function writeScorer(path: string, scorer: Scorer): Promise<void> {
  await Deno.mkdir(dirname(resolve(path)), { recursive: true });
  await writeAtomic(path, JSON.stringify(scorer, null, 2) + "\n");
}
