/**
 * Perceived age and gender of a face crop with the age/gender net that ships in
 * `@vladmandic/face-api` (`model/age_gender_model.*`: a TinyXception feature extractor with an age
 * regressor and a two-class gender head, trained on UTKFace-style data; the classes are the
 * dataset's `female` and `male`). TF.js on the wasm backend, loaded once per process.
 *
 * What the numbers are: what a model trained on photos of real people *predicts* a viewer would
 * read from the face — not anyone's age, gender or identity. On generated images, stylised
 * faces, small faces (under about 32 px) and faces seen from the side they are guesses.
 *
 * @module
 */
import { join } from "node:path";
import sharp from "sharp";
import * as faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import type { RgbImage } from "../../core/image.ts";
import { ensureWasmBackend, NODE_MODULES, requireFiles, type TfWasmApi } from "../tfjs.ts";

/** Files the age/gender net needs in its model folder. */
export const AGE_GENDER_MODEL_FILES = [
  "age_gender_model-weights_manifest.json",
  "age_gender_model.bin",
] as const;

/** Default model folder: face-api's own `model/`. */
export const DEFAULT_AGE_GENDER_DIR: string = join(NODE_MODULES, "@vladmandic/face-api/model/");

/** The side of the square the net looks at. */
export const AGE_GENDER_INPUT = 112;

/** What the net reads from one face. */
export interface PerceivedAgeGender {
  /** Estimated age in years (a regression output; not clipped). */
  age: number;
  /** The more likely of the model's two classes. */
  gender: "female" | "male";
  /** Probability of `gender` (0.5–1). */
  genderProbability: number;
}

/** A loaded age/gender net. */
export interface AgeGenderEstimator {
  /** Reads a face: `box` in pixels of `img` (crop taken as given, then padded square and resized to 112²). */
  estimate(
    img: RgbImage,
    box: { x: number; y: number; width: number; height: number },
  ): Promise<PerceivedAgeGender>;
}

let loaded: Promise<AgeGenderEstimator> | undefined;

/**
 * Loads the age/gender net from `modelDir` (default: face-api's `model/`) once per process.
 *
 * @example
 * ```ts ignore
 * import { loadAgeGender } from "./age_gender.ts";
 * const net = await loadAgeGender();
 * const { age, gender, genderProbability } = await net.estimate(img, { x: 10, y: 20, width: 80, height: 90 });
 * ```
 */
export function loadAgeGender(modelDir: string = DEFAULT_AGE_GENDER_DIR): Promise<AgeGenderEstimator> {
  if (modelDir !== DEFAULT_AGE_GENDER_DIR) return load(modelDir);
  loaded ??= load(modelDir);
  loaded.catch(() => loaded = undefined);
  return loaded;
}

async function load(modelDir: string): Promise<AgeGenderEstimator> {
  await requireFiles("age_gender", modelDir, AGE_GENDER_MODEL_FILES);
  const tf = faceapi.tf as unknown as TfWasmApi & typeof faceapi.tf;
  await ensureWasmBackend(tf);
  const net = faceapi.nets.ageGenderNet;
  if (!net.isLoaded) await net.loadFromDisk(modelDir);
  return {
    async estimate(img, box) {
      const x = Math.max(0, Math.floor(box.x)), y = Math.max(0, Math.floor(box.y));
      const w = Math.max(1, Math.min(img.width - x, Math.round(box.width)));
      const h = Math.max(1, Math.min(img.height - y, Math.round(box.height)));
      // Crop and resize with libvips (anti-aliased) to at most 112 on the long side; the net pads
      // the crop to a square itself, as face-api's own pipeline feeds it.
      const scale = Math.min(1, AGE_GENDER_INPUT / Math.max(w, h));
      const cw = Math.max(1, Math.round(w * scale)), ch = Math.max(1, Math.round(h * scale));
      const crop = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .extract({ left: x, top: y, width: w, height: h })
        .resize(cw, ch, { fit: "fill", kernel: "lanczos3" })
        .raw()
        .toBuffer();
      const input = tf.tensor3d(Int32Array.from(crop), [ch, cw, 3], "int32");
      try {
        const r = await net.predictAgeAndGender(input as never);
        const p = Array.isArray(r) ? r[0] : r;
        return { age: p.age, gender: p.gender as "female" | "male", genderProbability: p.genderProbability };
      } finally {
        input.dispose();
      }
    },
  };
}
