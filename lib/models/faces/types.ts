/**
 * What every face detector shares: a detected {@link Face}, the {@link FaceDetector} interface,
 * detector names and the default confidence. Detector files (`faceapi.ts`, `human.ts`) and the
 * registry (`detector.ts`) import these; nothing here loads a model.
 *
 * @module
 */
import type { RgbImage } from "../../core/image.ts";

/** One detected face, in pixels of the original (upright) image. */
export interface Face {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
  width: number;
  height: number;
  /** Detector score, 0–1 (higher is more face-like). */
  confidence: number;
  /** Keypoints as `[x, y]` when the model has them (BlazeFace: eyes, nose, mouth, ears). */
  landmarks?: [number, number][];
}

/** Options of {@link FaceDetector.detect}. */
export interface DetectOptions {
  /** Drop faces scored below this (0–1). Default {@link DEFAULT_MIN_CONFIDENCE}. */
  minConfidence?: number;
}

/** Names of the available detectors. */
export type DetectorName = "ssd" | "tiny" | "blazeface";

/** Every detector name, in the order they are documented. */
export const DETECTOR_NAMES: readonly DetectorName[] = ["ssd", "tiny", "blazeface"];

/** Default minimum confidence of {@link FaceDetector.detect}. */
export const DEFAULT_MIN_CONFIDENCE = 0.5;

/** A loaded face detector. */
export interface FaceDetector {
  readonly name: DetectorName;
  /** Long side, in pixels, of the copy the detector runs on. */
  readonly inputSize: number;
  /** Faces in `img`, boxes in pixels of `img`, sorted left to right (then top to bottom). */
  detect(img: RgbImage, opts?: DetectOptions): Promise<Face[]>;
  /**
   * Optional: {@link detect} for several images in one model run, the same faces per image as
   * `detect` gives; null for an image that could not be prepared (its own `detect` reports why).
   * Only `ssd` on onnxruntime has it.
   */
  detectBatch?(imgs: readonly RgbImage[], opts?: DetectOptions): Promise<(Face[] | null)[]>;
}

/** Sorts faces left to right, then top to bottom (a stable order for numbering them). */
export function sortFaces(faces: Face[]): Face[] {
  return faces.sort((a, b) => a.x - b.x || a.y - b.y);
}
