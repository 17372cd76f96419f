/**
 * Face size as a filter: the face-area threshold that removes most bad faces while keeping most
 * good ones, and what it does per image. Used by the small-faces notebook; the numbers it prints
 * come from here.
 *
 * @module
 */
import { chooseThreshold } from "./thresholds.ts";
import { applyRules, type ThresholdRule } from "../score/rules.ts";
import type { Row } from "../score/results.ts";

/** A face with a size (log10 px; null when the detector missed it) and a human quality 1–5. */
export interface SizedFace {
  log10Area: number | null;
  quality: number;
}

/** What {@link faceSizeThreshold} chose. */
export interface FaceSizeChoice {
  /** log10 of the face area in pixels: faces smaller than this are rejected. */
  threshold: number;
  /** The same as the side of a square face, in pixels. */
  side: number;
  /** Bad faces (quality ≤ `badMax`) removed, of `bad`. */
  badRemoved: number;
  bad: number;
  /** Good faces removed, of `good`. */
  goodRemoved: number;
  good: number;
  /** The rule in words. */
  description: string;
}

/**
 * The highest face-area threshold that still keeps at least `keepGood` of the good faces (quality
 * above `badMax`): among thresholds that keep that many good faces, the one that removes the most
 * bad ones (`chooseThreshold` with the `recall` strategy). Faces without a size are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { faceSizeThreshold } from "./face_size.ts";
 * const faces = [
 *   { log10Area: 2.0, quality: 1 }, { log10Area: 2.2, quality: 2 }, { log10Area: 3.4, quality: 2 },
 *   { log10Area: 2.9, quality: 4 }, { log10Area: 3.1, quality: 5 }, { log10Area: 3.6, quality: 5 }, { log10Area: null, quality: 1 },
 * ];
 * const c = faceSizeThreshold(faces, { keepGood: 1 });
 * assert.deepEqual([c.threshold, c.badRemoved, c.bad, c.goodRemoved, c.good], [2.9, 2, 3, 0, 3]);
 * ```
 */
export function faceSizeThreshold(
  faces: readonly SizedFace[],
  o: { badMax?: number; keepGood?: number } = {},
): FaceSizeChoice {
  const badMax = o.badMax ?? 2, keepGood = o.keepGood ?? 0.9;
  const sized = faces.filter((f): f is { log10Area: number; quality: number } =>
    f.log10Area !== null && Number.isFinite(f.log10Area)
  );
  const labels = sized.map((f) => (f.quality > badMax ? 1 : 0));
  const scores = sized.map((f) => f.log10Area);
  const choice = chooseThreshold(labels, scores, { strategy: "recall", target: keepGood });
  const p = choice.point;
  return {
    threshold: choice.threshold,
    side: Math.sqrt(10 ** choice.threshold),
    badRemoved: p.tn,
    bad: p.tn + p.fp,
    goodRemoved: p.fn,
    good: p.tp + p.fn,
    description: `reject faces under 10^${choice.threshold.toFixed(2)} px (about ${
      Math.round(Math.sqrt(10 ** choice.threshold))
    }×${Math.round(Math.sqrt(10 ** choice.threshold))}); ${choice.description} (good = quality > ${badMax})`,
  };
}

/**
 * Per image, the smallest face (log10 area) among detections with confidence ≥ `minConfidence`,
 * from rows of the `faces` table; images with no such face are absent (a face rule passes them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { smallestFaces } from "./face_size.ts";
 * const m = smallestFaces([
 *   { path: "a", log10_area: 3, confidence: 0.9 }, { path: "a", log10_area: 2.5, confidence: 0.8 },
 *   { path: "b", log10_area: 1.5, confidence: 0.2 },
 * ], 0.5);
 * assert.deepEqual([...m], [["a", 2.5]]);
 * ```
 */
export function smallestFaces(faceRows: readonly Row[], minConfidence = 0.5): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of faceRows) {
    const a = Number(r.log10_area), c = Number(r.confidence);
    if (!Number.isFinite(a) || !(c >= minConfidence)) continue;
    const p = String(r.path);
    out.set(p, Math.min(out.get(p) ?? Infinity, a));
  }
  return out;
}

/**
 * The images a face-size rule rejects: applies `face_min_log10_area ≥ threshold` (error type
 * `small_face`, as the faces heuristic's default rule) to each image's smallest face.
 */
export function rejectedBySize(
  paths: readonly string[],
  smallest: ReadonlyMap<string, number>,
  threshold: number,
): { path: string; smallest: number | null; kept: boolean; reasons: string[] }[] {
  const rule: ThresholdRule = { column: "face_min_log10_area", min: threshold, error_type: "small_face" };
  return paths.map((path) => {
    const v = smallest.get(path) ?? null;
    const verdict = applyRules({ face_min_log10_area: v }, [rule]);
    return { path, smallest: v, kept: verdict.kept, reasons: verdict.reasons };
  });
}
