/**
 * The face-quality study of notebooks 02 and 03: the shipped `face_quality` scorer against the
 * single signals it combines (and face size and detector confidence), each as a ROC curve with its
 * AUC and 95 % bootstrap interval, for bad faces (quality ≤ 2) against good ones (≥ 4), on all faces
 * and on faces of at least 32 px. The face_quality numbers are OUT OF FOLD (each face scored by a
 * model refitted without its fold, `fitRecipe`), never the shipped model on the faces it was
 * fitted on.
 *
 * @module
 */
import { fitRecipe } from "../calibrate/fit_recipes.ts";
import { type AucWithInterval, aucWithInterval } from "../calibrate/fit_scorer.ts";
import { rocCurve } from "../calibrate/metrics.ts";
import { featureValue, loadScorer, type Scorer, shippedScorerPath } from "../models/scorer.ts";
import type { NamedCurve, RocCurveInput } from "../report/plots/curves.ts";
import { cachedScores, labeledFaceImages, type NotebookDataset } from "./data.ts";

/** One signal of the study and the direction in which it is better (fixed in advance, not fitted). */
export interface StudySignal {
  column: string;
  /** `higher` when a larger value means a better face. */
  better: "higher" | "lower";
  label: string;
}

/** The signals compared with face_quality: size, detector confidence and the scorer's inputs. */
export const STUDY_SIGNALS: readonly StudySignal[] = [
  { column: "log10_area", better: "higher", label: "face size (log10 area)" },
  { column: "confidence", better: "higher", label: "SSD confidence" },
  { column: "crop_sharpness", better: "higher", label: "crop sharpness (64×64 Laplacian var.)" },
  { column: "blaze_score", better: "higher", label: "BlazeFace on a 2× crop" },
  { column: "landmark_distance", better: "lower", label: "landmark distance from mean shape" },
];

/** One row of the study's table. */
export interface StudyRow {
  signal: string;
  all: AucWithInterval;
  large: AucWithInterval | null;
}

/** What {@link faceQualityStudy} measured. */
export interface FaceQualityStudy {
  images: number;
  imagesWithFaces: number;
  labeledFaces: number;
  /** Labeled faces matched by a detection (IoU ≥ 0.5) at the default finding threshold. */
  seen: number;
  bad: number;
  good: number;
  badLarge: number;
  table: StudyRow[];
  /** ROC curves (good face = positive) on all faces and on faces ≥ 32 px. */
  roc: { all: NamedCurve<RocCurveInput>[]; large: NamedCurve<RocCurveInput>[] };
  /** The shipped scorer (its provenance holds the numbers on every shipped face). */
  shipped: Scorer;
  seconds: number;
}

/**
 * Runs the study on a stable subset of at most `maxImages` images with labeled faces (every image
 * with a bad face is in it), scoring them with the default `faces` settings (cached).
 */
export async function faceQualityStudy(
  data: NotebookDataset,
  o: { maxImages?: number; resamples?: number } = {},
): Promise<FaceQualityStudy> {
  const t0 = performance.now();
  const { all, images } = await labeledFaceImages(data, o.maxImages);
  // The same settings as `labeledFaces`, so both read one cache.
  const scores = await cachedScores(images, {
    heuristics: ["faces"],
    settings: { faces: { detector: "ssd", qualityConfidence: 0 } },
    faces: true,
  });
  const fit = await fitRecipe("face_quality", {
    labels: data.facesCsv,
    scores: scores.facesFile,
    limit: o.maxImages,
    repeats: 0,
    resamples: o.resamples ?? 1000,
  });
  const { rows, y, groups } = fit.data;
  const badIdx = y.flatMap((_, i) => (groups!["bad faces (quality ≤ 2) vs good (≥ 4)"][i] ? [i] : []));
  const largeIdx = y.flatMap((_, i) => (groups!["bad faces vs good, faces ≥ 32 px"][i] ? [i] : []));
  const value = (i: number, s: StudySignal) => {
    const v = featureValue({ name: s.column, transform: "identity", missing: NaN }, rows[i][s.column]);
    return s.better === "higher" ? v : -v;
  };
  const series: { name: string; score: (i: number) => number }[] = [
    { name: "face_quality (out of fold)", score: (i) => fit.outOfFold[i] },
    ...STUDY_SIGNALS.map((s) => ({ name: s.label, score: (i: number) => value(i, s) })),
  ];
  const measure = (idx: number[], score: (i: number) => number) => {
    const keep = idx.filter((i) => Number.isFinite(score(i)));
    const ys = keep.map((i) => y[i]), ss = keep.map(score);
    if (!ys.includes(0) || !ys.includes(1)) return null;
    return { auc: aucWithInterval(ys, ss, { resamples: o.resamples ?? 1000 }), curve: rocCurve(ys, ss) };
  };
  const table: StudyRow[] = [],
    roc = { all: [] as NamedCurve<RocCurveInput>[], large: [] as NamedCurve<RocCurveInput>[] };
  for (const s of series) {
    const a = measure(badIdx, s.score), l = measure(largeIdx, s.score);
    if (!a) continue;
    table.push({ signal: s.name, all: a.auc, large: l?.auc ?? null });
    roc.all.push({ name: s.name, curve: a.curve, area: a.auc.auc });
    if (l) roc.large.push({ name: s.name, curve: l.curve, area: l.auc.auc });
  }
  const notes = fit.data.notes as Record<string, number>;
  return {
    images: images.length,
    imagesWithFaces: all.length,
    labeledFaces: notes.labeledFaces,
    seen: notes.labeledFacesSeen,
    bad: badIdx.filter((i) => y[i] === 0).length,
    good: badIdx.filter((i) => y[i] === 1).length,
    badLarge: largeIdx.filter((i) => y[i] === 0).length,
    table,
    roc,
    shipped: await loadScorer(shippedScorerPath("face_quality")),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The study's table as rows for `showTable`: AUC [interval] on all faces and on faces ≥ 32 px. */
export function studyTable(study: FaceQualityStudy): Record<string, string>[] {
  const f = (r: AucWithInterval | null) =>
    r ? `${r.auc.toFixed(3)} [${r.low.toFixed(3)}, ${r.high.toFixed(3)}]` : "–";
  return study.table.map((r) => ({
    signal: r.signal,
    "AUC, all faces": f(r.all),
    "AUC, faces ≥ 32 px": f(r.large),
  }));
}
