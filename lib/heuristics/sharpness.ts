/**
 * Sharpness: the image clarity score users ask for. Blurry generations have weak edges, so the
 * spread of a second-derivative filter (Laplacian) and the energy of a first-derivative filter
 * (Sobel) are both low.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { sharpness } from "./sharpness.ts";
 * const data = new Uint8Array(4 * 4 * 3).map((_, i) => (i % 6 < 3 ? 0 : 255)); // stripes
 * const v = sharpness.compute(new ImageContext({ width: 4, height: 4, data }));
 * assert.ok((v.laplacian_var as number) > 0);
 * ```
 * @module
 */
import type { ImageContext, PureHeuristic } from "./types.ts";
import { padReflect101 } from "../core/filters.ts";

/** Statistics of the 3×3 Laplacian and Sobel responses of a gray plane. */
export interface EdgeStats {
  /** Population variance of the Laplacian ([[0,1,0],[1,-4,1],[0,1,0]], reflect-101). */
  laplacianVar: number;
  /** Mean of Gx² + Gy² for the 3×3 Sobel kernels, reflect-101. */
  tenengrad: number;
}

/**
 * Computes {@link EdgeStats} in one pass; matches `cv2.Laplacian(gray, cv2.CV_64F).var()` and
 * `mean(cv2.Sobel(gray, CV_64F, 1, 0)**2 + cv2.Sobel(gray, CV_64F, 0, 1)**2)` exactly (the sums
 * are integers below 2^53, so no rounding happens before the final division).
 */
export function edgeStats(gray: Uint8Array, width: number, height: number, padded?: Uint8Array): EdgeStats {
  const p = padded ?? padReflect101(gray, width, height);
  const pw = width + 2;
  let lapSum = 0, lapSq = 0, ten = 0;
  for (let y = 0; y < height; y++) {
    let lapSumRow = 0, lapSqRow = 0, tenRow = 0;
    let i = (y + 1) * pw + 1;
    for (let x = 0; x < width; x++, i++) {
      const n = p[i - pw], s = p[i + pw], w = p[i - 1], e = p[i + 1];
      const nw = p[i - pw - 1], ne = p[i - pw + 1], sw = p[i + pw - 1], se = p[i + pw + 1];
      const lap = n + s + w + e - 4 * p[i];
      lapSumRow += lap;
      lapSqRow += lap * lap;
      const gx = ne + 2 * e + se - nw - 2 * w - sw;
      const gy = sw + 2 * s + se - nw - 2 * n - ne;
      tenRow += gx * gx + gy * gy;
    }
    lapSum += lapSumRow;
    lapSq += lapSqRow;
    ten += tenRow;
  }
  const count = width * height;
  const mean = lapSum / count;
  return { laplacianVar: (lapSq - lapSum * mean) / count, tenengrad: ten / count };
}

/** The gray plane with a 1-pixel reflect-101 frame, computed once per image and shared by 3×3 filters. */
export function paddedGray(ctx: ImageContext): Uint8Array {
  return ctx.memo("paddedGray", () => padReflect101(ctx.gray, ctx.width, ctx.height));
}

/** Laplacian variance and Tenengrad of the gray image. */
export const sharpness: PureHeuristic = {
  name: "sharpness",
  description: "Edge strength of the whole image: low values mean a blurry, unclear generation.",
  errorType: "blur",
  outputs: [
    {
      name: "laplacian_var",
      unit: "gray levels²",
      direction: "higher_is_better",
      description: "population variance of the 3×3 Laplacian of the OpenCV gray image, reflect-101 border",
    },
    {
      name: "tenengrad",
      unit: "gray levels²",
      direction: "higher_is_better",
      description: "mean of Gx²+Gy² of the 3×3 Sobel derivatives of the gray image, reflect-101 border",
    },
  ],
  thresholds: [{
    output: "laplacian_var",
    min: 10,
    source:
      "eyeballed: the variance grows with resolution, so the usual 100 (for ~600 px images) rejects sharp " +
      "1920 px photos (27–279 on the face-api samples) while their blurred copies score 1.5–5: calibrate it",
  }],
  compute(ctx) {
    // From the fused gray sweep shared with saliency (lib/core/pixel_stats.ts); same sums as edgeStats.
    const e = ctx.edgeSums, n = ctx.width * ctx.height;
    return { laplacian_var: (e.lapSq - e.lapSum * (e.lapSum / n)) / n, tenengrad: e.sobelSq / n };
  },
};
