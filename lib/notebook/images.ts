/**
 * Pictures the notebooks show that no plot module draws: a saliency map laid over its image with
 * the saliency-aware crop outlined, crops of regions, and the skin check of a region with its
 * verdict. Built with sharp from the heuristics' own functions, so what is shown is what is scored.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { decodeImage } from "../core/image.ts";
import { type Box, ImageContext } from "../heuristics/types.ts";
import { SaliencyField, saliencyMap } from "../heuristics/saliency.ts";
import { clipBox, skinInRegion } from "../heuristics/skin.ts";
import { paddedGray } from "../heuristics/sharpness.ts";
import { applyRules, defaultRules, type ThresholdRule } from "../score/rules.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";

/**
 * A PNG of the image fitted into `maxSide` with boxes outlined (`color` per box, 3 px).
 *
 * @example
 * ```ts ignore
 * const png = await outlined("photo.jpg", [{ box: { x: 10, y: 10, width: 50, height: 50 }, color: "#2166ac" }]);
 * ```
 */
export async function outlined(
  image: string | Uint8Array,
  boxes: readonly { box: Box; color: string }[],
  maxSide = 320,
): Promise<Uint8Array> {
  const meta = await sharp(image).rotate().metadata();
  const w0 = (meta.autoOrient?.width ?? meta.width)!, h0 = (meta.autoOrient?.height ?? meta.height)!;
  const s = Math.min(1, maxSide / Math.max(w0, h0));
  const w = Math.max(1, Math.round(w0 * s)), h = Math.max(1, Math.round(h0 * s));
  const rects = boxes.map(({ box, color }) =>
    `<rect x="${box.x * s + 1.5}" y="${box.y * s + 1.5}" width="${Math.max(1, box.width * s - 3)}" height="${
      Math.max(1, box.height * s - 3)
    }" fill="none" stroke="${color}" stroke-width="3"/>`
  ).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${rects}</svg>`;
  const buf = await sharp(image).rotate().resize(w, h, { fit: "fill" })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }]).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** What {@link saliencyView} returns. */
export interface SaliencyView {
  /** The image with the saliency map as a red overlay and the square crop outlined (PNG). */
  overlay: Uint8Array;
  /** The saliency-aware square crop, and a centre crop of the same size, as PNGs. */
  crop: Uint8Array;
  centerCrop: Uint8Array;
  /** Crop box in pixels of the image. */
  box: Box;
  /** Laplacian variance of the whole image and weighted by saliency (the heuristic's outputs). */
  laplacianVar: number;
  saliencySharpness: number | null;
  width: number;
  height: number;
}

/**
 * The saliency map of an image drawn over it (red where salient), the square crop the saliency
 * heuristic picks (outlined in blue) and a centre crop for comparison, plus whole-image and
 * saliency-weighted sharpness.
 */
export async function saliencyView(path: string, maxSide = 320): Promise<SaliencyView> {
  const img = await decodeImage(path);
  const ctx = new ImageContext(img);
  const map = saliencyMap(ctx.gray, ctx.width, ctx.height);
  const field = new SaliencyField(map, ctx.width, ctx.height);
  const box = field.squareCrop();
  const saliencySharpness = field.weightedLaplacianVar(ctx.gray, paddedGray(ctx));
  const whole = new SaliencyField(new Float64Array(map.length).fill(1), ctx.width, ctx.height)
    .weightedLaplacianVar(ctx.gray, paddedGray(ctx))!;
  const s = Math.min(1, maxSide / Math.max(ctx.width, ctx.height));
  const w = Math.max(1, Math.round(ctx.width * s)), h = Math.max(1, Math.round(ctx.height * s));
  // 64×64 map → RGBA heat layer: red with alpha = saliency.
  const heat = new Uint8Array(64 * 64 * 4);
  for (let i = 0; i < 64 * 64; i++) {
    heat[i * 4] = 220;
    heat[i * 4 + 1] = 30;
    heat[i * 4 + 2] = 30;
    heat[i * 4 + 3] = Math.round(210 * Math.sqrt(map[i]));
  }
  const layer = await sharp(heat, { raw: { width: 64, height: 64, channels: 4 } })
    .resize(w, h, { fit: "fill", kernel: "cubic" }).png().toBuffer();
  const rect = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect x="${
    box.x * s + 1.5
  }" y="${box.y * s + 1.5}" width="${box.width * s - 3}" height="${
    box.height * s - 3
  }" fill="none" stroke="#2166ac" stroke-width="3"/></svg>`;
  const base = sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } });
  const overlay = await base.clone().resize(w, h, { fit: "fill" }).grayscale().toColorspace("srgb")
    .composite([{ input: layer }, { input: Buffer.from(rect) }]).png().toBuffer();
  const side = box.width;
  const cbox = {
    x: Math.round((ctx.width - side) / 2),
    y: Math.round((ctx.height - box.height) / 2),
    width: side,
    height: box.height,
  };
  const cropOf = async (b: Box) =>
    new Uint8Array(
      await base.clone().extract({ left: b.x, top: b.y, width: b.width, height: b.height })
        .resize(Math.round(maxSide * 0.6)).png().toBuffer(),
    );
  return {
    overlay: new Uint8Array(overlay),
    crop: await cropOf(box),
    centerCrop: await cropOf(cbox),
    box,
    laplacianVar: whole,
    saliencySharpness,
    width: ctx.width,
    height: ctx.height,
  };
}

/** One region checked for skin, as after inpainting a person into it. */
export interface RegionCheck {
  path: string;
  /** The region as given and as clipped to the image. */
  region: Box;
  /** Skin fraction inside the region and its pixel count. */
  ratio: number | null;
  pixels: number;
  kept: boolean;
  reasons: string[];
  /** The image with the region outlined: blue when it passes, red when it fails (PNG). */
  picture: Uint8Array;
}

/**
 * The inpainting check on one region: skin fraction inside it (`skinInRegion`, the skin
 * heuristic's rule) judged by `rules` (default: the skin heuristic's default,
 * `skin_region_ratio ≥ 0.1` → `missing_body_part`), with a picture of the region outlined.
 */
export async function checkSkinRegion(
  path: string,
  region: Box,
  rules: readonly ThresholdRule[] = defaultRules(resolveHeuristics(["skin"])),
): Promise<RegionCheck> {
  const img = await decodeImage(path);
  const ctx = new ImageContext(img);
  const clipped = clipBox(region, ctx.width, ctx.height);
  const { ratio, pixels } = skinInRegion(ctx, { region: clipped });
  const verdict = applyRules({ skin_region_ratio: ratio, skin_region_px: pixels }, rules);
  const picture = await outlined(path, [{ box: clipped, color: verdict.kept ? "#2166ac" : "#b2182b" }]);
  return { path, region: clipped, ratio, pixels, kept: verdict.kept, reasons: verdict.reasons, picture };
}

/**
 * A box grown by `factor` around its centre (a face box → the head and shoulders an inpainting
 * mask would cover), and the same-size box mirrored to the other side of the image (most likely
 * background: a region where the person did not appear).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grownAndMirrored } from "./images.ts";
 * const { grown, mirrored } = grownAndMirrored({ x: 10, y: 20, width: 10, height: 10 }, 100, 80, 2);
 * assert.deepEqual(grown, { x: 5, y: 15, width: 20, height: 20 });
 * assert.deepEqual(mirrored, { x: 75, y: 45, width: 20, height: 20 });
 * ```
 */
export function grownAndMirrored(
  face: Box,
  width: number,
  height: number,
  factor = 2,
): { grown: Box; mirrored: Box } {
  const gw = face.width * factor, gh = face.height * factor;
  const grown = {
    x: face.x + face.width / 2 - gw / 2,
    y: face.y + face.height / 2 - gh / 2,
    width: gw,
    height: gh,
  };
  const mirrored = { x: width - grown.x - gw, y: height - grown.y - gh, width: gw, height: gh };
  return { grown, mirrored };
}
