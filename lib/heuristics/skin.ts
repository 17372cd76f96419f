/**
 * Skin pixels (Chai & Ngan 1999 YCrCb rule), for the whole image and for a region or mask.
 *
 * The region form is the check after inpainting a person into a picture: when the inpainted
 * area should hold a head or arms but has too few skin-coloured pixels, the generation most
 * likely left them out. Give the area as a box or a mask (`ImageOptions`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { skin } from "./skin.ts";
 * const img = { width: 2, height: 1, data: new Uint8Array([224, 172, 140, 20, 60, 200]) };
 * const ctx = new ImageContext(img, { region: { x: 0, y: 0, width: 1, height: 1 } });
 * const v = skin.compute(ctx);
 * assert.deepEqual([v.skin_ratio, v.skin_region_ratio], [0.5, 1]);
 * ```
 * @module
 */
import type { Box, ImageContext, PureHeuristic } from "./types.ts";
import { skin01, SKIN_CB, SKIN_CR } from "../core/pixel_stats.ts";

export { skin01, SKIN_CB, SKIN_CR } from "../core/pixel_stats.ts";

/**
 * True when an 8-bit RGB pixel is skin-coloured: `133 ≤ Cr ≤ 173` and `77 ≤ Cb ≤ 127`, with Cr
 * and Cb computed in OpenCV's 14-bit fixed point (`cv2.COLOR_RGB2YCrCb`).
 */
export function isSkin(r: number, g: number, b: number): boolean {
  const y = (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14;
  const cr = ((r - y) * 11682 + (128 << 14) + 8192) >> 14;
  if (cr < SKIN_CR[0] || cr > SKIN_CR[1]) return false;
  const cb = ((b - y) * 9241 + (128 << 14) + 8192) >> 14;
  return cb >= SKIN_CB[0] && cb <= SKIN_CB[1];
}

/** Number of skin pixels in the whole image, from the fused RGB sweep (computed once per image). */
export function skinCount(ctx: ImageContext): number {
  return ctx.rgbSums.skinPixels;
}

/** A 0/1 plane of skin pixels, computed once per image. */
export function skinMask(ctx: ImageContext): Uint8Array {
  return ctx.memo("skinMask", () => {
    const d = ctx.image.data;
    const out = new Uint8Array(ctx.width * ctx.height);
    for (let i = 0, j = 0; i < out.length; i++, j += 3) out[i] = skin01(d[j], d[j + 1], d[j + 2]);
    return out;
  });
}

/** Clips a box to the image; throws a RangeError naming the box when nothing of it is inside. */
export function clipBox(box: Box, width: number, height: number): Box {
  const x0 = Math.max(0, Math.floor(box.x)), y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width, Math.ceil(box.x + box.width)),
    y1 = Math.min(height, Math.ceil(box.y + box.height));
  if (x1 <= x0 || y1 <= y0) {
    throw new RangeError(
      `region ${box.x},${box.y},${box.width},${box.height} lies outside the ${width}×${height} image`,
    );
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Skin fraction and pixel count inside a mask (non-zero = inside) or a box. */
export function skinInRegion(ctx: ImageContext, area: { mask?: Uint8Array; region?: Box }): {
  ratio: number | null;
  pixels: number;
} {
  let inside = 0, hits = 0;
  if (area.mask) {
    const skinPx = skinMask(ctx);
    if (area.mask.length !== skinPx.length) {
      throw new RangeError(`mask has ${area.mask.length} pixels, the image ${skinPx.length}`);
    }
    for (let i = 0; i < skinPx.length; i++) {
      if (area.mask[i]) {
        inside++;
        hits += skinPx[i];
      }
    }
  } else if (area.region) {
    const b = clipBox(area.region, ctx.width, ctx.height);
    const d = ctx.image.data;
    for (let y = b.y; y < b.y + b.height; y++) {
      for (let j = (y * ctx.width + b.x) * 3, end = j + b.width * 3; j < end; j += 3) {
        hits += skin01(d[j], d[j + 1], d[j + 2]);
      }
    }
    inside = b.width * b.height;
  }
  return { ratio: inside ? hits / inside : null, pixels: inside };
}

/** Skin fraction of the image and of the given region or mask. */
export const skin: PureHeuristic = {
  name: "skin",
  description: "Share of skin-coloured pixels, in the whole image and in a region or mask " +
    "(an inpainted person with no head or arms has too few).",
  errorType: "missing_body_part",
  outputs: [
    {
      name: "skin_ratio",
      unit: "fraction 0–1",
      direction: "neither",
      description: "fraction of pixels with 133≤Cr≤173 and 77≤Cb≤127 (OpenCV 8-bit YCrCb)",
    },
    {
      name: "skin_region_ratio",
      unit: "fraction 0–1",
      direction: "higher_is_better",
      description: "skin fraction inside the given region or mask; empty when none is given",
    },
    {
      name: "skin_region_px",
      unit: "pixels",
      direction: "neither",
      description: "pixels inside the given region or mask; empty when none is given",
    },
  ],
  thresholds: [{
    output: "skin_region_ratio",
    min: 0.1,
    source: "eyeballed default for a region that should show a head or arms: calibrate it",
  }],
  compute(ctx) {
    const { mask, region } = ctx.options;
    const r = mask || region ? skinInRegion(ctx, { mask, region }) : null;
    return {
      skin_ratio: skinCount(ctx) / (ctx.width * ctx.height),
      skin_region_ratio: r ? r.ratio : null,
      skin_region_px: r ? r.pixels : null,
    };
  },
};
