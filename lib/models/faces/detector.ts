/**
 * Face detectors behind one interface, running offline on weights that ship inside npm packages
 * (TF.js on the wasm backend):
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
import sharp from "sharp";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
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
}

/** A model or runtime file that is not where it should be; the message names the folder searched. */
export class FaceModelError extends Error {
  override name = "FaceModelError";
}

/** An unknown detector name; the message lists the known ones. */
export class UnknownDetectorError extends Error {
  override name = "UnknownDetectorError";
}

/** Options of {@link getDetector}. */
export interface GetDetectorOptions {
  /**
   * Folder holding the model files. Default: the package's own folder under this project's
   * `node_modules` (`@vladmandic/face-api/model/` or `@vladmandic/human/models/`).
   */
  modelDir?: string;
}

const NODE_MODULES = fileURLToPath(new URL("../../../node_modules/", import.meta.url));

/** Default model folder of each detector. */
export const DEFAULT_MODEL_DIRS: Readonly<Record<DetectorName, string>> = {
  ssd: join(NODE_MODULES, "@vladmandic/face-api/model/"),
  tiny: join(NODE_MODULES, "@vladmandic/face-api/model/"),
  blazeface: join(NODE_MODULES, "@vladmandic/human/models/"),
};

/** Folder of the TF.js wasm binaries (`tfjs-backend-wasm*.wasm`). */
export const WASM_DIR = join(NODE_MODULES, "@tensorflow/tfjs-backend-wasm/dist/");

type Loader = (modelDir: string) => Promise<FaceDetector>;

// Backends are imported on first use, so that importing the registry does not load TF.js.
const LOADERS: Record<DetectorName, Loader> = {
  ssd: async (dir) => (await import("./faceapi.ts")).loadFaceApiDetector("ssd", dir),
  tiny: async (dir) => (await import("./faceapi.ts")).loadFaceApiDetector("tiny", dir),
  blazeface: async (dir) => (await import("./human.ts")).loadBlazeFace(dir),
};

const loaded = new Map<string, Promise<FaceDetector>>();

/**
 * The detector `name`, loaded on first call and cached for the life of the process (or worker).
 * Throws {@link UnknownDetectorError} for an unknown name and {@link FaceModelError}, naming the
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
  const key = `${name}\0${dir}`;
  let p = loaded.get(key);
  if (!p) {
    p = LOADERS[name](dir);
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

/**
 * Throws {@link FaceModelError} unless every file in `files` exists in `dir`; the message names
 * the detector, the missing files and the folder searched.
 */
export async function requireFiles(detector: string, dir: string, files: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const f of files) {
    const st = await Deno.stat(join(dir, f)).catch(() => null);
    if (!st?.isFile) missing.push(f);
  }
  if (missing.length) {
    throw new FaceModelError(
      `${detector}: model file${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found in ${dir}` +
        " (install the project's npm packages, or point modelDir at a folder holding them)",
    );
  }
}

/** The parts of a TF.js namespace that {@link ensureWasmBackend} uses. */
export interface TfWasmApi {
  setWasmPaths(prefix: string): void;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
}

let wasmReady: Promise<void> | undefined;

/**
 * Makes the TF.js wasm backend current, with its binaries read from {@link WASM_DIR}; once per
 * process (face-api and human share one TF.js engine). The cpu backend is never used: it is
 * 20–50× slower.
 */
export function ensureWasmBackend(tf: TfWasmApi): Promise<void> {
  wasmReady ??= (async () => {
    await requireFiles("tfjs-backend-wasm", WASM_DIR, [
      "tfjs-backend-wasm-simd.wasm",
      "tfjs-backend-wasm.wasm",
    ]);
    tf.setWasmPaths(WASM_DIR);
    if (!(await tf.setBackend("wasm"))) {
      throw new FaceModelError(`tfjs: the wasm backend from ${WASM_DIR} failed`);
    }
    await tf.ready();
  })();
  wasmReady.catch(() => wasmReady = undefined);
  return wasmReady;
}

/** A resized copy and the factors that map its pixels back to the original's. */
export interface ScaledImage extends RgbImage {
  /** Original pixels per copy pixel, horizontally and vertically. */
  scaleX: number;
  scaleY: number;
}

/**
 * Resizes `img` so its long side is at most `longSide` (never enlarges), area-averaging with
 * libvips; returns the image itself (scale 1) when it is small enough already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scaledForDetection } from "./detector.ts";
 * const img = { width: 1000, height: 500, data: new Uint8Array(1000 * 500 * 3) };
 * const s = await scaledForDetection(img, 512);
 * assert.deepEqual([s.width, s.height, s.scaleX], [512, 256, 1000 / 512]);
 * ```
 */
export async function scaledForDetection(img: RgbImage, longSide: number): Promise<ScaledImage> {
  const long = Math.max(img.width, img.height);
  if (long <= longSide) return { ...img, scaleX: 1, scaleY: 1 };
  const f = longSide / long;
  const width = Math.max(1, Math.round(img.width * f)), height = Math.max(1, Math.round(img.height * f));
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: "fill", kernel: "lanczos3" })
    .raw()
    .toBuffer();
  return {
    width,
    height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    scaleX: img.width / width,
    scaleY: img.height / height,
  };
}

/**
 * Maps a box found on a scaled copy back to the original image, clips it to the image and rounds
 * its edges to whole pixels; null when nothing of it is left inside.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapBack } from "./detector.ts";
 * const s = { width: 50, height: 50, data: new Uint8Array(0), scaleX: 2, scaleY: 2 };
 * assert.deepEqual(mapBack({ x: -5, y: 10, width: 20, height: 10 }, s, 100, 100), { x: 0, y: 20, width: 30, height: 20 });
 * ```
 */
export function mapBack(
  box: { x: number; y: number; width: number; height: number },
  s: ScaledImage,
  width: number,
  height: number,
): { x: number; y: number; width: number; height: number } | null {
  const x0 = Math.max(0, Math.round(box.x * s.scaleX)), y0 = Math.max(0, Math.round(box.y * s.scaleY));
  const x1 = Math.min(width, Math.round((box.x + box.width) * s.scaleX));
  const y1 = Math.min(height, Math.round((box.y + box.height) * s.scaleY));
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Sorts faces left to right, then top to bottom (a stable order for numbering them). */
export function sortFaces(faces: Face[]): Face[] {
  return faces.sort((a, b) => a.x - b.x || a.y - b.y);
}
