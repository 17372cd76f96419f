/**
 * CLIP image inputs exactly as Hugging Face's `CLIPImageProcessor` prepares them: resize the
 * shortest edge with Pillow bicubic on the 8-bit image (long side `int(short_target · long /
 * short)`), center crop at `((h − ch) // 2, (w − cw) // 2)`, rescale (`x · rescale_factor`, then
 * float32), normalise (`(x − mean) / std` in float32), CHW. Sizes, mean and std come from the
 * model's `preprocessor_config.json` ({@link readPreprocessorConfig}); {@link OPENAI_CLIP_PREPROCESSOR}
 * is `openai/clip-vit-base-patch32`'s.
 *
 * Kept apart from `clip.ts` (which loads transformers.js and onnxruntime) so the pixel steps can
 * be used, and checked, without loading a model. Every CLIP-family scorer (clip_score,
 * pick_score, aesthetic) and the `clip` feature extractor of `lib/evaluate/` use these steps;
 * transformers.js' own processor is not used (its Node path resizes without antialiasing).
 *
 * @module
 */
import { join } from "node:path";
import type { RgbImage } from "../core/image.ts";
import { resizePil } from "../core/resize_pil.ts";
import { ModelFileError } from "./store.ts";

/** The preprocessing settings of a CLIP image processor, after defaults. */
export interface ClipPreprocessor {
  /** Target of the shortest edge (`size.shortest_edge`, or `size` when a number). */
  shortestEdge: number;
  /** Crop size (`crop_size`). */
  cropHeight: number;
  cropWidth: number;
  doResize: boolean;
  doCenterCrop: boolean;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  mean: [number, number, number];
  std: [number, number, number];
}

/** `openai/clip-vit-base-patch32`'s processor (224, OpenAI mean/std). */
export const OPENAI_CLIP_PREPROCESSOR: Readonly<ClipPreprocessor> = Object.freeze<ClipPreprocessor>({
  shortestEdge: 224,
  cropHeight: 224,
  cropWidth: 224,
  doResize: true,
  doCenterCrop: true,
  doRescale: true,
  rescaleFactor: 1 / 255,
  doNormalize: true,
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
});

/**
 * Reads `preprocessor_config.json` (the hub's JSON, parsed) into a {@link ClipPreprocessor}, with
 * `CLIPImageProcessor`'s defaults for absent keys. `file` names the source in errors. Only
 * bicubic resampling (`resample: 3`, the CLIP default) is supported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePreprocessorConfig } from "./clip_pixels.ts";
 * const p = parsePreprocessorConfig({ size: 224, crop_size: 224, resample: 3 }, "config");
 * assert.deepEqual([p.shortestEdge, p.cropHeight, p.cropWidth], [224, 224, 224]);
 * assert.throws(() => parsePreprocessorConfig({ resample: 2 }, "cfg.json"), /cfg\.json: resample 2/);
 * ```
 */
export function parsePreprocessorConfig(raw: Record<string, unknown>, file: string): ClipPreprocessor {
  const bad = (msg: string) => new ModelFileError(file, msg);
  const num = (v: unknown, what: string): number => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw bad(`${what} must be a number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const d = OPENAI_CLIP_PREPROCESSOR;
  const size = raw.size;
  let shortestEdge = d.shortestEdge;
  if (typeof size === "number") shortestEdge = size;
  else if (size && typeof size === "object") {
    const s = size as Record<string, unknown>;
    if (s.shortest_edge === undefined) {
      throw bad(`size ${JSON.stringify(size)} is not a shortest_edge size (CLIP resizes the shortest edge)`);
    }
    shortestEdge = num(s.shortest_edge, "size.shortest_edge");
  }
  const crop = raw.crop_size;
  let cropHeight = d.cropHeight, cropWidth = d.cropWidth;
  if (typeof crop === "number") cropHeight = cropWidth = crop;
  else if (crop && typeof crop === "object") {
    const c = crop as Record<string, unknown>;
    cropHeight = num(c.height, "crop_size.height");
    cropWidth = num(c.width, "crop_size.width");
  }
  for (
    const [k, v] of [["size", shortestEdge], ["crop_size", cropHeight], ["crop_size", cropWidth]] as const
  ) {
    if (!Number.isInteger(v) || v < 1) throw bad(`${k} must be a positive integer, got ${v}`);
  }
  if (raw.resample !== undefined && raw.resample !== 3) {
    throw bad(
      `resample ${raw.resample} is not supported; winnow resizes CLIP inputs with Pillow BICUBIC (3)`,
    );
  }
  const triple = (v: unknown, dflt: readonly number[], what: string): [number, number, number] => {
    if (v === undefined) return [...dflt] as [number, number, number];
    if (typeof v === "number") return [v, v, v];
    if (!Array.isArray(v) || v.length !== 3) throw bad(`${what} must be 3 numbers, got ${JSON.stringify(v)}`);
    return v.map((x, i) => num(x, `${what}[${i}]`)) as [number, number, number];
  };
  const flag = (k: string, dflt: boolean) => raw[k] === undefined ? dflt : raw[k] === true;
  const std = triple(raw.image_std, d.std, "image_std");
  if (std.some((s) => s === 0)) throw bad("image_std has a zero");
  return {
    shortestEdge,
    cropHeight,
    cropWidth,
    doResize: flag("do_resize", true),
    doCenterCrop: flag("do_center_crop", true),
    doRescale: flag("do_rescale", true),
    rescaleFactor: raw.rescale_factor === undefined
      ? d.rescaleFactor
      : num(raw.rescale_factor, "rescale_factor"),
    doNormalize: flag("do_normalize", true),
    mean: triple(raw.image_mean, d.mean, "image_mean"),
    std,
  };
}

/**
 * Reads `<folder>/preprocessor_config.json`; a missing or unreadable file is a `ModelFileError`
 * naming it.
 *
 * @example
 * ```ts ignore
 * const p = await readPreprocessorConfig("/models/Xenova/clip-vit-base-patch32");
 * ```
 */
export async function readPreprocessorConfig(folder: string): Promise<ClipPreprocessor> {
  const file = join(folder, "preprocessor_config.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new ModelFileError(file, `cannot read the image processor settings (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ModelFileError(file, "not a JSON object");
  }
  return parsePreprocessorConfig(raw as Record<string, unknown>, file);
}

/** Output size of the shortest-edge resize, as `get_resize_output_image_size(default_to_square=False)`. */
export function shortestEdgeSize(width: number, height: number, target: number): [number, number] {
  if (width <= height) return [target, Math.trunc(target * height / width)];
  return [Math.trunc(target * width / height), target];
}

/**
 * The CLIP input of one image, CHW float32 (`3 × cropHeight × cropWidth`), as
 * `CLIPImageProcessor(images=pil_image, return_tensors="np").pixel_values[0]`. Without `p`, the
 * `openai/clip-vit-base-patch32` settings (3×224×224).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipPixels } from "./clip_pixels.ts";
 * const img = { width: 300, height: 200, data: new Uint8Array(300 * 200 * 3).fill(255) };
 * const px = clipPixels(img);
 * assert.equal(px.length, 3 * 224 * 224);
 * assert.ok(Math.abs(px[0] - (1 - 0.48145466) / 0.26862954) < 1e-5);
 * ```
 */
export function clipPixels(
  img: RgbImage,
  p: Readonly<ClipPreprocessor> = OPENAI_CLIP_PREPROCESSOR,
): Float32Array {
  let im = img;
  if (p.doResize) {
    const [w, h] = shortestEdgeSize(img.width, img.height, p.shortestEdge);
    im = resizePil(img, w, h);
  }
  const W = im.width, H = im.height;
  // Center crop (zero padding where the crop is larger, as transformers' center_crop).
  let ch = H, cw = W, top = 0, left = 0;
  if (p.doCenterCrop) {
    ch = p.cropHeight;
    cw = p.cropWidth;
    top = Math.floor((H - ch) / 2);
    left = Math.floor((W - cw) / 2);
    // Where the crop is larger than the image, transformers pads with zeros around it: the same
    // offsets, with zeros outside.
  }
  const out = new Float32Array(3 * ch * cw);
  const m = p.mean.map(Math.fround), s = p.std.map(Math.fround);
  for (let y = 0; y < ch; y++) {
    const sy = y + top;
    for (let x = 0; x < cw; x++) {
      const sx = x + left;
      const inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
      for (let c = 0; c < 3; c++) {
        let v = inside ? im.data[(sy * W + sx) * 3 + c] : 0;
        if (p.doRescale) v = Math.fround(v * p.rescaleFactor);
        if (p.doNormalize) v = Math.fround(Math.fround(v - m[c]) / s[c]);
        out[c * ch * cw + y * cw + x] = v;
      }
    }
  }
  return out;
}
