/**
 * Face quality against detected faces: the per-face table of `score --faces` matched (IoU ≥ 0.5)
 * to hand-labeled faces, and how well face size and detector confidence tell good faces
 * (quality ≥ 4) from bad ones (≤ 2). The calibration run adds it as `faces` in its JSON.
 *
 * @module
 */
import { resolve } from "node:path";
import { loadFaceLabels, matchFaces } from "../labels/format.ts";
import { readResults } from "../score/results.ts";
import { rocAucScore } from "./metrics.ts";

/** The `faces` block of the calibration JSON. */
export interface FaceCalibrationJson {
  faces_file: string;
  face_labels_file: string;
  labeled_faces: number;
  label_rows_rejected: number;
  detected_faces: number;
  matched: number;
  labeled_not_detected: number;
  good_faces: number;
  bad_faces: number;
  auc_log10_area: number | null;
  auc_confidence: number | null;
  definition: string;
}

/** A labeled face matched to a detected one: its human quality, size and confidence (NaN when absent). */
export interface MatchedFace {
  quality: number;
  log10Area: number;
  confidence: number;
}

/** What {@link faceAnalysis} found. */
export interface FaceAnalysis {
  json: FaceCalibrationJson;
  /** Problems of the face label file, `file:line: field: problem`. */
  issues: string[];
  /** Every matched pair. */
  pairs: MatchedFace[];
}

/**
 * Matches the detected faces of `facesFile` (a `score --faces` table) to the hand-labeled faces of
 * `faceLabelsFile` and measures face size and confidence against face quality.
 *
 * @example
 * ```ts ignore
 * import { faceAnalysis } from "./faces.ts";
 * const f = await faceAnalysis("faces.csv", "data/labels/faces.csv");
 * console.log(f.json.matched, f.json.auc_log10_area);
 * ```
 */
export async function faceAnalysis(facesFile: string, faceLabelsFile: string): Promise<FaceAnalysis> {
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
  return { json, issues: labels.issues.map((i) => i.message), pairs };
}
