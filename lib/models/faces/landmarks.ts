/**
 * The 68-point face landmark net shipped in `@vladmandic/face-api` (`face_landmark_68_model`, the
 * iBUG 300-W point layout) on the TF.js wasm backend, and how far a face's landmarks are from the
 * mean face shape after Procrustes alignment: a generated face whose parts are misplaced, merged or
 * missing gives landmarks the net cannot fit to a face shape.
 *
 * The mean shape is `data/models/face_shape_mean.json`: the landmarks of the faces the `ssd`
 * detector finds (≥ 0.5) in the six real photographs shipped in `@vladmandic/face-api`
 * (`demo/sample1..6.jpg`), each aligned by Procrustes and averaged ({@link computeMeanShape}
 * rebuilds it). It depends on no hand label, so it leaks nothing into a scorer fitted on labels.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RgbImage } from "../../core/image.ts";
import { ensureWasmBackend, NODE_MODULES, requireFiles, type TfWasmApi } from "../tfjs.ts";

/** face-api (with its TF.js), loaded on first use: importing this module stays cheap for the scorers
 * that never run the landmark net (the pure suite's workers import every heuristic). */
const faceApi = () => import("@vladmandic/face-api/dist/face-api.node-wasm.js");

/** Weight files of the 68-point landmark net in face-api's model folder. */
export const LANDMARK_MODEL_FILES = [
  "face_landmark_68_model-weights_manifest.json",
  "face_landmark_68_model.bin",
] as const;

/** Default folder of the landmark net. */
export const LANDMARK_MODEL_DIR: string = join(NODE_MODULES, "@vladmandic/face-api/model/");

/** The shipped mean face shape (68 points, centred, unit norm). */
export const MEAN_SHAPE_FILE: string = fileURLToPath(
  new URL("../../../data/models/face_shape_mean.json", import.meta.url),
);

/** 68 `[x, y]` points. */
export type Shape = [number, number][];

/** The landmark net: 68 points for each face crop, in pixels of that crop. */
export type LandmarkNet = ((crop: RgbImage) => Promise<Shape>) & {
  /**
   * 68 points for each of `crops`, in one batched forward pass (each crop resized to 112×112
   * first, as for one crop): the per-call cost of TF.js is paid once for all the faces of an image.
   */
  batch(crops: readonly RgbImage[]): Promise<Shape[]>;
};

const nets = new Map<string, Promise<LandmarkNet>>();

/**
 * The landmark net loaded from `modelDir` once per process: a function from a face crop (the face
 * box, any size; the net resizes it to 112×112) to 68 points in pixels of the crop, and its
 * `batch` form for several crops at once.
 *
 * @example
 * ```ts ignore
 * import { getLandmarkNet } from "./landmarks.ts";
 * const landmarks = await getLandmarkNet();
 * const points = await landmarks(faceCrop); // 68 × [x, y]
 * const [a, b] = await landmarks.batch([faceA, faceB]);
 * ```
 */
export function getLandmarkNet(modelDir: string = LANDMARK_MODEL_DIR): Promise<LandmarkNet> {
  let p = nets.get(modelDir);
  if (!p) {
    p = (async () => {
      await requireFiles("face_landmark_68", modelDir, LANDMARK_MODEL_FILES);
      const faceapi = await faceApi();
      const tf = faceapi.tf as unknown as TfWasmApi & Awaited<ReturnType<typeof faceApi>>["tf"];
      await ensureWasmBackend(tf);
      const net = faceapi.nets.faceLandmark68Net;
      if (!net.isLoaded) await net.loadFromDisk(modelDir);
      const batch = async (crops: readonly RgbImage[]): Promise<Shape[]> => {
        if (!crops.length) return [];
        const inputs = crops.map((c) =>
          tf.tensor3d(Int32Array.from(c.data), [c.height, c.width, 3], "int32")
        );
        try {
          const r = await net.detectLandmarks((inputs.length === 1 ? inputs[0] : inputs) as never);
          const all = Array.isArray(r) ? r : [r];
          return all.map((lm, i) =>
            lm.relativePositions.map((
              pt,
            ): [number, number] => [pt.x * crops[i].width, pt.y * crops[i].height])
          );
        } finally {
          for (const t of inputs) t.dispose();
        }
      };
      return Object.assign(async (crop: RgbImage) => (await batch([crop]))[0], { batch });
    })();
    nets.set(modelDir, p);
    p.catch(() => nets.delete(modelDir));
  }
  return p;
}

/**
 * A shape centred on its mean point and scaled to unit Frobenius norm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeShape } from "./landmarks.ts";
 * const s = normalizeShape([[0, 0], [2, 0]]);
 * assert.ok(Math.abs(s[0][0] + Math.SQRT1_2) < 1e-12 && Math.abs(s[1][0] - Math.SQRT1_2) < 1e-12);
 * assert.deepEqual([s[0][1], s[1][1]], [0, 0]);
 * ```
 */
export function normalizeShape(shape: readonly (readonly [number, number])[]): Shape {
  const n = shape.length;
  const cx = shape.reduce((s, p) => s + p[0], 0) / n, cy = shape.reduce((s, p) => s + p[1], 0) / n;
  const c = shape.map(([x, y]): [number, number] => [x - cx, y - cy]);
  const norm = Math.sqrt(c.reduce((s, [x, y]) => s + x * x + y * y, 0)) || 1;
  return c.map(([x, y]) => [x / norm, y / norm]);
}

/**
 * Procrustes distance between two shapes of the same points: both normalised
 * ({@link normalizeShape}), `shape` rotated (no reflection) onto `reference` by the rotation that
 * minimises the squared distance; returns the root of that minimum (0 = the same shape up to
 * position, scale and rotation; at most √2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { procrustesDistance } from "./landmarks.ts";
 * const square: [number, number][] = [[0, 0], [1, 0], [1, 1], [0, 1]];
 * const turned: [number, number][] = [[5, 5], [5, 7], [3, 7], [3, 5]]; // moved, scaled ×2, rotated 90°
 * assert.ok(procrustesDistance(turned, square) < 1e-6); // √ of a rounding-level difference
 * assert.ok(procrustesDistance([[0, 0], [1, 0], [1, 1], [0, 3]], square) > 0.1);
 * ```
 */
export function procrustesDistance(
  shape: readonly (readonly [number, number])[],
  reference: readonly (readonly [number, number])[],
): number {
  if (shape.length !== reference.length) {
    throw new RangeError(`procrustesDistance: ${shape.length} points against ${reference.length}`);
  }
  const a = normalizeShape(shape), b = normalizeShape(reference);
  // Optimal rotation angle for 2-D: maximise Σ (a rotated) · b.
  let sxx = 0, sxy = 0;
  for (let i = 0; i < a.length; i++) {
    sxx += a[i][0] * b[i][0] + a[i][1] * b[i][1];
    sxy += a[i][0] * b[i][1] - a[i][1] * b[i][0];
  }
  const best = Math.sqrt(sxx * sxx + sxy * sxy); // cos·sxx + sin·sxy at its maximum
  return Math.sqrt(Math.max(0, 2 - 2 * best));
}

/** Rotates normalised `shape` onto normalised `reference` (Procrustes, no reflection). */
function alignTo(shape: Shape, reference: Shape): Shape {
  let sxx = 0, sxy = 0;
  for (let i = 0; i < shape.length; i++) {
    sxx += shape[i][0] * reference[i][0] + shape[i][1] * reference[i][1];
    sxy += shape[i][0] * reference[i][1] - shape[i][1] * reference[i][0];
  }
  const t = Math.atan2(sxy, sxx), c = Math.cos(t), s = Math.sin(t);
  return shape.map(([x, y]) => [c * x - s * y, s * x + c * y]);
}

/**
 * Generalised Procrustes mean of shapes: normalise each, align all to the current mean, average,
 * normalise, repeat until it stops moving.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeMeanShape, procrustesDistance } from "./landmarks.ts";
 * const a: [number, number][] = [[0, 0], [1, 0], [0, 1]];
 * const b: [number, number][] = [[0, 0], [0, 2], [-2, 0]]; // a scaled and rotated
 * assert.ok(procrustesDistance(computeMeanShape([a, b]), a) < 1e-6);
 * ```
 */
export function computeMeanShape(shapes: readonly (readonly (readonly [number, number])[])[]): Shape {
  if (!shapes.length) throw new RangeError("computeMeanShape: no shapes");
  const norm = shapes.map(normalizeShape);
  let mean = norm[0];
  for (let it = 0; it < 50; it++) {
    const aligned = norm.map((s) => alignTo(s, mean));
    const next = normalizeShape(
      mean.map((_, i): [number, number] => [
        aligned.reduce((s, a) => s + a[i][0], 0) / aligned.length,
        aligned.reduce((s, a) => s + a[i][1], 0) / aligned.length,
      ]),
    );
    const moved = procrustesDistance(next, mean);
    mean = alignTo(next, norm[0]);
    if (moved < 1e-12) break;
  }
  return mean;
}

let meanShape: Promise<Shape> | undefined;

/** The shipped mean face shape ({@link MEAN_SHAPE_FILE}), read once. */
export function loadMeanShape(): Promise<Shape> {
  meanShape ??= Deno.readTextFile(MEAN_SHAPE_FILE).then((t) => {
    const j = JSON.parse(t) as { points: Shape };
    if (!Array.isArray(j.points) || j.points.length !== 68) {
      throw new Error(`${MEAN_SHAPE_FILE}: points: expected 68 [x, y] pairs`);
    }
    return j.points;
  });
  return meanShape;
}

/** The real photographs the mean shape is built from: face-api's `demo/sample1..6.jpg`. */
export const MEAN_SHAPE_PHOTOS: readonly string[] = [1, 2, 3, 4, 5, 6].map((k) =>
  join(NODE_MODULES, `@vladmandic/face-api/demo/sample${k}.jpg`)
);

/**
 * Rebuilds the mean face shape: the `ssd` faces (≥ 0.5) of {@link MEAN_SHAPE_PHOTOS}, their
 * landmarks, the generalised Procrustes mean. Returns the file's content (write it to
 * {@link MEAN_SHAPE_FILE} to replace the shipped one).
 *
 * @example
 * ```ts ignore
 * import { MEAN_SHAPE_FILE, meanShapeFromPhotos } from "./landmarks.ts";
 * await Deno.writeTextFile(MEAN_SHAPE_FILE, JSON.stringify(await meanShapeFromPhotos()) + "\n");
 * ```
 */
export async function meanShapeFromPhotos(): Promise<{ points: Shape; faces: number; source: string }> {
  const { decodeImage } = await import("../../core/image.ts");
  const { getDetector } = await import("./detector.ts");
  const ssd = await getDetector("ssd");
  const net = await getLandmarkNet();
  const shapes: Shape[] = [];
  for (const file of MEAN_SHAPE_PHOTOS) {
    const img = await decodeImage(file);
    for (const f of await ssd.detect(img, { minConfidence: 0.5 })) {
      const crop = {
        width: f.width,
        height: f.height,
        data: new Uint8Array(f.width * f.height * 3),
      };
      for (let y = 0; y < f.height; y++) {
        const s = ((f.y + y) * img.width + f.x) * 3;
        crop.data.set(img.data.subarray(s, s + f.width * 3), y * f.width * 3);
      }
      shapes.push(await net(crop));
    }
  }
  return {
    points: computeMeanShape(shapes).map(([x, y]) => [+x.toFixed(6), +y.toFixed(6)]),
    faces: shapes.length,
    source: "generalised Procrustes mean of face-api's 68 landmarks on the ssd faces (≥ 0.5) of " +
      "@vladmandic/face-api demo/sample1..6.jpg; rebuilt by meanShapeFromPhotos() in " +
      "lib/models/faces/landmarks.ts",
  };
}
