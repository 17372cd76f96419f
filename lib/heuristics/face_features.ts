/**
 * Per-face measures that judge a detected face (the inputs of the `face_quality` scorer; the `faces`
 * heuristic adds them to each row of its table):
 *
 * | column                | what                                                                                       |
 * | --------------------- | ------------------------------------------------------------------------------------------ |
 * | `crop_sharpness`      | variance of the 3×3 Laplacian of the face box in gray, resized to 64×64 (a fixed size, so big and small faces compare) |
 * | `crop_contrast`       | standard deviation of that 64×64 gray crop                                                 |
 * | `crop_saturation`     | mean HSV saturation (max − min) / max of the box's pixels, 0–1                              |
 * | `crop_symmetry`       | correlation of the 64×64 gray crop with its mirror image (−1–1)                            |
 * | `blaze_score`         | BlazeFace's best score for a face near the centre of a square crop twice the box's size, enlarged to 256×256: a second detector's opinion, on a crop where a small face is big enough to judge; 0 when it sees none |
 * | `landmark_distance`   | Procrustes distance of the 68 landmarks face-api's net places in the box from the mean face shape (`lib/models/faces/landmarks.ts`) |
 *
 * @module
 */
import sharp from "sharp";
import type { RgbImage } from "../core/image.ts";
import { toGray } from "../core/image.ts";
import { laplacian3 } from "../core/filters.ts";
import { resizeArea, resizeBilinear } from "../core/resize.ts";
import type { Box, OutputSpec } from "./types.ts";
import { type FaceRuntime, getDetector } from "../models/faces/detector.ts";
import { getLandmarkNet, loadMeanShape, procrustesDistance } from "../models/faces/landmarks.ts";

/** Side of the gray crop the sharpness, contrast and symmetry are measured on. */
export const FACE_CROP_SIDE = 64;

/** Side the 2× crop is resized to before BlazeFace runs on it (its network input). */
export const BLAZE_CROP_SIDE = 256;

/** BlazeFace threshold on the 2× crop: low, since its score is the measure. */
export const BLAZE_CROP_MIN_CONFIDENCE = 0.05;

/** Columns the measures add to each face row. */
export const FACE_FEATURE_COLUMNS: readonly OutputSpec[] = [
  {
    name: "crop_sharpness",
    unit: "gray levels²",
    direction: "higher_is_better",
    description: "variance of the 3×3 Laplacian of the face box (gray) resized to 64×64",
  },
  {
    name: "crop_contrast",
    unit: "gray levels",
    direction: "higher_is_better",
    description: "standard deviation of the face box (gray) resized to 64×64",
  },
  {
    name: "crop_saturation",
    unit: "fraction 0–1",
    direction: "neither",
    description: "mean HSV saturation of the face box",
  },
  {
    name: "crop_symmetry",
    unit: "correlation −1–1",
    direction: "higher_is_better",
    description: "correlation of the 64×64 gray face box with its left-right mirror",
  },
  {
    name: "blaze_score",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "BlazeFace's best score for a face near the centre of a 2× crop around the box, " +
      "enlarged to 256×256 (0: none found); empty for faces found below qualityConfidence",
  },
  {
    name: "landmark_distance",
    unit: "Procrustes distance 0–√2",
    direction: "lower_is_better",
    description: "distance of face-api's 68 landmarks in the box from the mean face shape; empty for " +
      "faces found below qualityConfidence",
  },
];

/**
 * The pixels of `box` (rounded to whole pixels, clipped to the image) as a new image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cropRgb } from "./face_features.ts";
 * const img = { width: 3, height: 2, data: new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]) };
 * const c = cropRgb(img, { x: 1, y: 1, width: 5, height: 5 });
 * assert.deepEqual([c.width, c.height, [...c.data]], [2, 1, [5, 5, 5, 6, 6, 6]]);
 * ```
 */
export function cropRgb(img: RgbImage, box: Box): RgbImage {
  const x0 = Math.max(0, Math.min(img.width - 1, Math.round(box.x)));
  const y0 = Math.max(0, Math.min(img.height - 1, Math.round(box.y)));
  const x1 = Math.max(x0 + 1, Math.min(img.width, Math.round(box.x + box.width)));
  const y1 = Math.max(y0 + 1, Math.min(img.height, Math.round(box.y + box.height)));
  const width = x1 - x0, height = y1 - y0;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const s = ((y0 + y) * img.width + x0) * 3;
    data.set(img.data.subarray(s, s + width * 3), y * width * 3);
  }
  return { width, height, data };
}

/**
 * A gray plane resized to `side`×`side`: area averaging when shrinking, bilinear when enlarging
 * (OpenCV's `INTER_AREA` behaviour), so faces of every size are compared at one scale.
 */
export function grayAt(crop: RgbImage, side = FACE_CROP_SIDE): Uint8Array {
  const g = toGray(crop);
  if (crop.width === side && crop.height === side) return g;
  return crop.width >= side && crop.height >= side
    ? resizeArea(g, crop.width, crop.height, side, side)
    : resizeBilinear(g, crop.width, crop.height, side, side);
}

/**
 * Sharpness, contrast, saturation and symmetry of one face crop (the pure measures).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cropMeasures } from "./face_features.ts";
 * const flat = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(128) };
 * const m = cropMeasures(flat);
 * assert.deepEqual([m.crop_sharpness, m.crop_contrast, m.crop_saturation], [0, 0, 0]);
 * const stripes = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).map((_, i) => (Math.floor(i / 3) % 2) * 255) };
 * assert.ok(cropMeasures(stripes).crop_sharpness > 0);
 * ```
 */
export function cropMeasures(crop: RgbImage): Record<string, number> {
  const side = FACE_CROP_SIDE;
  const g = grayAt(crop, side);
  const lap = laplacian3(g, side, side);
  const n = side * side;
  let lm = 0, gm = 0;
  for (let i = 0; i < n; i++) {
    lm += lap[i];
    gm += g[i];
  }
  lm /= n;
  gm /= n;
  let lv = 0, gv = 0;
  for (let i = 0; i < n; i++) {
    lv += (lap[i] - lm) ** 2;
    gv += (g[i] - gm) ** 2;
  }
  // Correlation with the mirror image.
  let num = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) num += (g[y * side + x] - gm) * (g[y * side + side - 1 - x] - gm);
  }
  let sat = 0;
  const d = crop.data;
  for (let i = 0; i < d.length; i += 3) {
    const mx = Math.max(d[i], d[i + 1], d[i + 2]), mn = Math.min(d[i], d[i + 1], d[i + 2]);
    sat += mx === 0 ? 0 : (mx - mn) / mx;
  }
  return {
    crop_sharpness: lv / n,
    crop_contrast: Math.sqrt(gv / n),
    crop_saturation: sat / (d.length / 3),
    crop_symmetry: gv > 0 ? num / gv : 0,
  };
}

/** The square box twice the size of `box` around its centre (not clipped). */
export function doubledBox(box: Box): Box {
  const side = 2 * Math.max(box.width, box.height);
  return {
    x: box.x + box.width / 2 - side / 2,
    y: box.y + box.height / 2 - side / 2,
    width: side,
    height: side,
  };
}

/**
 * The image BlazeFace judges a face on: the square 2× crop around `box` ({@link doubledBox}),
 * enlarged (or shrunk) to {@link BLAZE_CROP_SIDE}² with Lanczos-3.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blazeCrop } from "./face_features.ts";
 * const img = { width: 40, height: 40, data: new Uint8Array(40 * 40 * 3).fill(90) };
 * const c = await blazeCrop(img, { x: 10, y: 10, width: 10, height: 12 });
 * assert.deepEqual([c.width, c.height, c.data.length], [256, 256, 256 * 256 * 3]);
 * ```
 */
export async function blazeCrop(img: RgbImage, box: Box): Promise<RgbImage> {
  const crop = cropRgb(img, doubledBox(box));
  const buf = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } })
    .resize(BLAZE_CROP_SIDE, BLAZE_CROP_SIDE, { fit: "fill", kernel: "lanczos3" })
    .raw()
    .toBuffer();
  return {
    width: BLAZE_CROP_SIDE,
    height: BLAZE_CROP_SIDE,
    data: new Uint8Array(buf.buffer, buf.byteOffset, buf.length),
  };
}

/**
 * BlazeFace's best score for a face whose centre lies in the middle half of a 2× crop around
 * `box`, the crop enlarged (or shrunk) to 256×256 ({@link blazeCrop}); 0 when it finds none there.
 */
export async function blazeCropScore(
  img: RgbImage,
  box: Box,
  modelDir?: string,
  runtime?: FaceRuntime,
): Promise<number> {
  const big = await blazeCrop(img, box);
  const detector = await getDetector("blazeface", { modelDir, runtime });
  const found = await detector.detect(big, { minConfidence: BLAZE_CROP_MIN_CONFIDENCE });
  const lo = BLAZE_CROP_SIDE / 4, hi = (3 * BLAZE_CROP_SIDE) / 4;
  let best = 0;
  for (const f of found) {
    const cx = f.x + f.width / 2, cy = f.y + f.height / 2;
    if (cx >= lo && cx <= hi && cy >= lo && cy <= hi) best = Math.max(best, f.confidence);
  }
  return best;
}

/** Procrustes distance of face-api's 68 landmarks in `box` from the shipped mean face shape. */
export async function landmarkDistance(img: RgbImage, box: Box): Promise<number> {
  return (await landmarkDistances(img, [box]))[0];
}

/**
 * {@link landmarkDistance} of each box, the landmark net run once on all the crops (a batch).
 */
export async function landmarkDistances(img: RgbImage, boxes: readonly Box[]): Promise<number[]> {
  if (!boxes.length) return [];
  const [net, mean] = await Promise.all([getLandmarkNet(), loadMeanShape()]);
  const shapes = await net.batch(boxes.map((b) => cropRgb(img, b)));
  return shapes.map((s) => procrustesDistance(s, mean));
}

/** The two measures that run a model on each face (the costly ones). */
export const MODEL_FEATURES: readonly string[] = ["blaze_score", "landmark_distance"];

/**
 * Every measure of {@link FACE_FEATURE_COLUMNS} for each face box of `img`, in order. The pure
 * measures are computed for every box; the two that run a model ({@link MODEL_FEATURES}: BlazeFace
 * on a 2× crop, the landmark net) only for the boxes where `withModels[i]` is true (default: all),
 * and are null for the others. The landmark net runs once on all those boxes (a batch). `runtime`:
 * what runs BlazeFace (`faces.runtime`, default onnx).
 *
 * @example
 * ```ts ignore
 * import { faceFeatures } from "./face_features.ts";
 * const [a, b] = await faceFeatures(img, [faceA, faceB], [true, false]);
 * // a.blaze_score is a number, b.blaze_score is null; both have crop_sharpness
 * ```
 */
export async function faceFeatures(
  img: RgbImage,
  boxes: readonly Box[],
  withModels: readonly boolean[] = boxes.map(() => true),
  runtime?: FaceRuntime,
): Promise<Record<string, number | null>[]> {
  const judged = boxes.flatMap((b, i) => (withModels[i] ? [b] : []));
  const blaze: number[] = [];
  for (const b of judged) blaze.push(await blazeCropScore(img, b, undefined, runtime));
  const landmarks = await landmarkDistances(img, judged);
  let k = 0;
  return boxes.map((b, i) => {
    const m = withModels[i] ? { blaze_score: blaze[k], landmark_distance: landmarks[k++] } : {
      blaze_score: null,
      landmark_distance: null,
    };
    return { ...cropMeasures(cropRgb(img, b)), ...m };
  });
}
