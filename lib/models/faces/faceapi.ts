/**
 * The `ssd` and `tiny` face detectors: `@vladmandic/face-api`'s SSD MobileNet v1 and Tiny Face
 * Detector on the TF.js wasm backend, weights from the package's `model/` folder. Use them through
 * `getDetector` in `detector.ts`, which loads each once per process.
 *
 * @module
 */
import * as faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import { ensureWasmBackend, mapBack, requireFiles, scaledForDetection, type TfWasmApi } from "../tfjs.ts";
import { DEFAULT_MIN_CONFIDENCE, type Face, type FaceDetector, sortFaces } from "./types.ts";

/** Weight files each detector needs in its model folder. */
export const FACEAPI_MODEL_FILES = {
  ssd: ["ssd_mobilenetv1_model-weights_manifest.json", "ssd_mobilenetv1_model.bin"],
  tiny: ["tiny_face_detector_model-weights_manifest.json", "tiny_face_detector_model.bin"],
} as const;

/**
 * Long side of the copy each detector runs on. SSD's network input is 512×512 (face-api pads to a
 * square, then resizes), so a larger copy is only shrunk again inside TF.js, without
 * anti-aliasing. The tiny detector takes any multiple of 32; 512 finds all faces of the
 * face-api demo photos but one profile, 416 (face-api's default) misses two.
 */
export const FACEAPI_INPUT_SIZE = { ssd: 512, tiny: 512 } as const;

/**
 * Loads face-api's `ssd` or `tiny` detector from `modelDir` (uncached: call `getDetector`).
 *
 * @example
 * ```ts ignore
 * import { loadFaceApiDetector } from "./faceapi.ts";
 * const tiny = await loadFaceApiDetector("tiny", "node_modules/@vladmandic/face-api/model/");
 * ```
 */
export async function loadFaceApiDetector(kind: "ssd" | "tiny", modelDir: string): Promise<FaceDetector> {
  await requireFiles(kind, modelDir, FACEAPI_MODEL_FILES[kind]);
  const tf = faceapi.tf as unknown as TfWasmApi & typeof faceapi.tf;
  await ensureWasmBackend(tf);
  const net = kind === "ssd" ? faceapi.nets.ssdMobilenetv1 : faceapi.nets.tinyFaceDetector;
  await net.loadFromDisk(modelDir);
  const inputSize = FACEAPI_INPUT_SIZE[kind];
  return {
    name: kind,
    inputSize,
    async detect(img, opts = {}) {
      const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
      const s = await scaledForDetection(img, inputSize);
      const input = tf.tensor3d(Int32Array.from(s.data), [s.height, s.width, 3], "int32");
      try {
        const options = kind === "ssd"
          ? new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 })
          : new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: minConfidence });
        const found = await faceapi.detectAllFaces(input, options);
        const faces: Face[] = [];
        for (const d of found) {
          const b = mapBack(d.box, s, img.width, img.height);
          if (b && d.score >= minConfidence) faces.push({ ...b, confidence: d.score });
        }
        return sortFaces(faces);
      } finally {
        input.dispose();
      }
    },
  };
}
