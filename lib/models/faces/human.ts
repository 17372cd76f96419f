/**
 * The `blazeface` face detector: BlazeFace from `@vladmandic/human` on the TF.js wasm backend,
 * face detection only (mesh, iris, emotion, description, body, hands, objects all disabled),
 * weights from the package's `models/` folder. Use it through `getDetector` in `detector.ts`,
 * which loads it once per process.
 *
 * Human is imported by file path: its package `exports` map does not expose the wasm build.
 * Result caching between calls (Human's video mode) is switched off, so every image is detected
 * afresh.
 *
 * @module
 */
// @ts-types="../../../node_modules/@vladmandic/human/types/human.d.ts"
import { Human } from "../../../node_modules/@vladmandic/human/dist/human.node-wasm.js";
import { pathToFileURL } from "node:url";
import {
  ensureWasmBackend,
  mapBack,
  requireFiles,
  scaledForDetection,
  type TfWasmApi,
  WASM_DIR,
} from "../tfjs.ts";
import { DEFAULT_MIN_CONFIDENCE, type Face, type FaceDetector, sortFaces } from "./types.ts";

/** Model files BlazeFace needs in its model folder. */
export const BLAZEFACE_MODEL_FILES = ["blazeface.json", "blazeface.bin"] as const;

/**
 * Long side of the copy BlazeFace runs on. Its network input is 256×256 (Human stretches the
 * image to it); a 512 copy found every face of the face-api demo photos at 0.5, a 256 one missed one.
 */
export const BLAZEFACE_INPUT_SIZE = 512;

/**
 * Box scale over BlazeFace's own box (Human's default 1.4 enlarges it for its face mesh; 1.0 keeps
 * the detector's box, close to SSD's in area).
 */
export const BLAZEFACE_BOX_SCALE = 1.0;

/**
 * Loads BlazeFace from `modelDir` (uncached: call `getDetector`).
 *
 * @example
 * ```ts ignore
 * import { loadBlazeFace } from "./human.ts";
 * const blazeface = await loadBlazeFace("node_modules/@vladmandic/human/models/");
 * ```
 */
export async function loadBlazeFace(modelDir: string): Promise<FaceDetector> {
  await requireFiles("blazeface", modelDir, BLAZEFACE_MODEL_FILES);
  const dirUrl = pathToFileURL(modelDir.endsWith("/") ? modelDir : `${modelDir}/`).href;
  const off = { enabled: false };
  const human = new Human({
    backend: "wasm",
    wasmPath: WASM_DIR,
    modelBasePath: dirUrl,
    debug: false,
    async: true,
    warmup: "none",
    cacheSensitivity: 0,
    face: {
      enabled: true,
      detector: {
        enabled: true,
        modelPath: "blazeface.json",
        rotation: false,
        maxDetected: 100,
        skipFrames: 0,
        skipTime: 0,
        minConfidence: DEFAULT_MIN_CONFIDENCE,
        scale: BLAZEFACE_BOX_SCALE,
        return: false,
      },
      mesh: off,
      iris: off,
      description: off,
      emotion: off,
      antispoof: off,
      liveness: off,
      attention: off,
      gear: off,
    },
    body: off,
    hand: off,
    object: off,
    gesture: off,
    segmentation: off,
    filter: off,
  });
  const tf = human.tf as unknown as TfWasmApi & {
    tensor3d(values: Int32Array, shape: [number, number, number], dtype: "int32"): { dispose(): void };
  };
  await ensureWasmBackend(tf);
  await human.load();
  return {
    name: "blazeface",
    inputSize: BLAZEFACE_INPUT_SIZE,
    async detect(img, opts = {}) {
      const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
      const s = await scaledForDetection(img, BLAZEFACE_INPUT_SIZE);
      const input = tf.tensor3d(Int32Array.from(s.data), [s.height, s.width, 3], "int32");
      try {
        const result = await human.detect(input as never, { face: { detector: { minConfidence } } });
        if (result.error) throw new Error(`blazeface: ${result.error}`);
        const faces: Face[] = [];
        for (const f of result.face) {
          const [x, y, width, height] = f.box;
          const b = mapBack({ x, y, width, height }, s, img.width, img.height);
          const confidence = f.boxScore ?? f.score;
          if (!b || confidence < minConfidence) continue;
          const landmarks = f.mesh.map(([lx, ly]): [number, number] => [lx * s.scaleX, ly * s.scaleY]);
          faces.push({ ...b, confidence, ...(landmarks.length ? { landmarks } : {}) });
        }
        return sortFaces(faces);
      } finally {
        input.dispose();
      }
    },
  };
}
