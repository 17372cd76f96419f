/**
 * The `ssd` and `tiny` face detectors: `@vladmandic/face-api`'s SSD MobileNet v1 and Tiny Face
 * Detector on the TF.js wasm backend, weights from the package's `model/` folder. Use them through
 * `getDetector` in `detector.ts`, which loads each once per process.
 *
 * @module
 */
import * as faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import { ensureWasmBackend, mapBack, requireFiles, scaledForDetection, type TfWasmApi } from "../tfjs.ts";
import {
  DEFAULT_MIN_CONFIDENCE,
  type DetectOptions,
  type Face,
  type FaceDetector,
  sortFaces,
} from "./types.ts";
import type { RgbImage } from "../../core/image.ts";

/** Weight files each detector needs in its model folder. */
export const FACEAPI_MODEL_FILES = {
  ssd: ["ssd_mobilenetv1_model-weights_manifest.json", "ssd_mobilenetv1_model.bin"],
  tiny: ["tiny_face_detector_model-weights_manifest.json", "tiny_face_detector_model.bin"],
} as const;

/**
 * Default long side of the copy each detector runs on. SSD's network input is 512×512 (face-api
 * pads to a square, then resizes), so a larger copy is only shrunk again inside TF.js, without
 * anti-aliasing. The tiny detector takes any multiple of 32; 512 finds all faces of the
 * face-api demo photos but one profile, 416 (face-api's default) misses two.
 */
export const FACEAPI_INPUT_SIZE = { ssd: 512, tiny: 512 } as const;

/** The input size SSD MobileNet v1 was trained at: its 5118 prior boxes are laid out for it. */
export const SSD_TRAINED_SIZE = 512;

/** Grid sides of SSD's six prediction layers for a square input of side `size` (a multiple of 32). */
export function ssdGrids(size: number): number[] {
  const grids = [size / 16, size / 32];
  for (let i = 0; i < 4; i++) grids.push(Math.ceil(grids[grids.length - 1] / 2));
  return grids;
}

/** Prior boxes per grid cell of each of SSD's six prediction layers. */
const SSD_BOXES_PER_CELL = [3, 6, 6, 6, 6, 6];

/**
 * SSD's prior boxes (`[ymin, xmin, ymax, xmax]`, fractions of the input) for a square input of side
 * `size`, from the trained ones: the TF object-detection grid anchors put one set of box sizes per
 * layer at the centre of every cell of the layer's grid. On a smaller input the grids shrink (32,
 * 16, 8, 4, 2, 1 cells at 512; 24, 12, 6, 3, 2, 1 at 384) and the box sizes are kept in PIXELS
 * (× 512 / size as fractions of the input): the network learned to size a box from how many pixels
 * the face covers, so priors kept as fractions make every box too small by size / 512 (measured on
 * the face-api demo photos). At 512 this gives back the trained priors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ssdPriors } from "./faceapi.ts";
 * const trained = Array.from({ length: 5118 }, () => [-0.05, -0.05, 0.05, 0.05]);
 * const p = ssdPriors(trained, 384); // grids 24, 12, 6, 3, 2, 1
 * assert.equal(p.length, 24 * 24 * 3 + (144 + 36 + 9 + 4 + 1) * 6);
 * // centre 0.5 / 24, side 0.1 × 512 / 384
 * assert.deepEqual(p[0].map((v) => +v.toFixed(4)), [-0.0458, -0.0458, 0.0875, 0.0875]);
 * ```
 */
export function ssdPriors(trained: readonly number[][], size: number): number[][] {
  if (size % 32 !== 0 || size < 64) {
    throw new RangeError(`SSD input size ${size}: a multiple of 32, at least 64`);
  }
  const from = ssdGrids(SSD_TRAINED_SIZE), to = ssdGrids(size);
  const out: number[][] = [];
  let offset = 0;
  for (let l = 0; l < from.length; l++) {
    const k = SSD_BOXES_PER_CELL[l];
    // Sizes in pixels stay: the network learned box sizes for faces of a given pixel size.
    const f = SSD_TRAINED_SIZE / size;
    const sizes = trained.slice(offset, offset + k).map(([y0, x0, y1, x1]) => [(y1 - y0) * f, (x1 - x0) * f]);
    offset += from[l] * from[l] * k;
    const g = to[l];
    for (let y = 0; y < g; y++) {
      for (let x = 0; x < g; x++) {
        const cy = (y + 0.5) / g, cx = (x + 0.5) / g;
        for (const [h, w] of sizes) out.push([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2]);
      }
    }
  }
  return out;
}

/** Options of {@link loadFaceApiDetector}. */
export interface FaceApiDetectorOptions {
  /**
   * Long side of the copy the detector runs on, a multiple of 32 (default
   * {@link FACEAPI_INPUT_SIZE}). For `ssd` it is also the network input: below 512 the network runs on
   * a smaller square with its prior boxes laid out for it ({@link ssdPriors}); cost falls with the
   * square of the side, and small faces are missed sooner.
   */
  inputSize?: number;
}

/**
 * Loads face-api's `ssd` or `tiny` detector from `modelDir` (uncached: call `getDetector`).
 *
 * @example
 * ```ts ignore
 * import { loadFaceApiDetector } from "./faceapi.ts";
 * const tiny = await loadFaceApiDetector("tiny", "node_modules/@vladmandic/face-api/model/");
 * ```
 */
export async function loadFaceApiDetector(
  kind: "ssd" | "tiny",
  modelDir: string,
  options: FaceApiDetectorOptions = {},
): Promise<FaceDetector> {
  await requireFiles(kind, modelDir, FACEAPI_MODEL_FILES[kind]);
  const tf = faceapi.tf as unknown as TfWasmApi & typeof faceapi.tf;
  await ensureWasmBackend(tf);
  const net = kind === "ssd" ? faceapi.nets.ssdMobilenetv1 : faceapi.nets.tinyFaceDetector;
  await net.loadFromDisk(modelDir);
  const inputSize = options.inputSize ?? FACEAPI_INPUT_SIZE[kind];
  if (inputSize % 32 !== 0 || inputSize < 64 || inputSize > 1024) {
    throw new RangeError(`${kind}: input size ${inputSize} is not a multiple of 32 between 64 and 1024`);
  }
  // SSD below its trained size: the same weights on a smaller square, with priors laid out for it.
  // face-api reads the priors from the net's parameters; calls are serialised (TF.js on wasm runs
  // one at a time anyway) so that each runs with its own priors.
  const ssdSize = kind === "ssd" ? Math.min(inputSize, SSD_TRAINED_SIZE) : SSD_TRAINED_SIZE;
  return {
    name: kind,
    inputSize,
    detect(img, opts = {}) {
      const run = ssdQueue.then(() => detectOnce(img, opts));
      ssdQueue = run.catch(() => undefined);
      return run;
    },
  };

  async function detectOnce(img: RgbImage, opts: DetectOptions): Promise<Face[]> {
    const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
    const s = await scaledForDetection(img, inputSize);
    const input = tf.tensor3d(Int32Array.from(s.data), [s.height, s.width, 3], "int32");
    try {
      let found: { box: { x: number; y: number; width: number; height: number }; score: number }[];
      if (kind === "ssd" && ssdSize !== SSD_TRAINED_SIZE) {
        // The weights loaded last (a reload replaces them): their priors, laid out for ssdSize.
        const layer = (net as unknown as { params: { output_layer: { extra_dim: PriorTensor } } }).params
          .output_layer;
        const trained = layer.extra_dim;
        let byLayer = priorCache.get(layer);
        if (!byLayer) priorCache.set(layer, byLayer = new Map());
        let priors = byLayer.get(ssdSize);
        if (!priors) {
          priors = tf.tensor3d([ssdPriors(trained.arraySync()[0], ssdSize)]) as unknown as PriorTensor;
          byLayer.set(ssdSize, priors);
        }
        const netInput = await faceapi.toNetInput(input);
        const batch = netInput.toBatchTensor.bind(netInput);
        netInput.toBatchTensor = (_size: number, centre?: boolean) => batch(ssdSize, centre);
        layer.extra_dim = priors;
        try {
          found = await faceapi.nets.ssdMobilenetv1.locateFaces(netInput, { minConfidence, maxResults: 100 });
        } finally {
          layer.extra_dim = trained;
        }
      } else {
        const options = kind === "ssd"
          ? new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 })
          : new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: minConfidence });
        found = await faceapi.detectAllFaces(input, options);
      }
      const faces: Face[] = [];
      for (const d of found) {
        const b = mapBack(d.box, s, img.width, img.height);
        if (b && d.score >= minConfidence) faces.push({ ...b, confidence: d.score });
      }
      return sortFaces(faces);
    } finally {
      input.dispose();
    }
  }
}

/** SSD's prior boxes as face-api keeps them: a `[1, n, 4]` tensor. */
type PriorTensor = { arraySync(): number[][][] };

/** Priors laid out per input size, per loaded set of SSD weights. */
const priorCache = new WeakMap<object, Map<number, PriorTensor>>();

/** The last face-api detection queued: each waits for the one before (see `loadFaceApiDetector`). */
let ssdQueue: Promise<unknown> = Promise.resolve();
