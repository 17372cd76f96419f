/**
 * Colourfulness (Hasler & Süsstrunk 2003): how vivid the colours are. Washed-out or greyish
 * generations score low; it is descriptive, with no default threshold (gray images are valid).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { colorfulness } from "./colorfulness.ts";
 * const gray = { width: 1, height: 2, data: new Uint8Array([9, 9, 9, 200, 200, 200]) };
 * assert.deepEqual(colorfulness.compute(new ImageContext(gray)).colorfulness, 0);
 * ```
 * @module
 */
import type { PureHeuristic } from "./types.ts";
import type { RgbImage } from "../core/image.ts";
import type { RgbSums } from "../core/pixel_stats.ts";

/**
 * `sqrt(σ_rg² + σ_yb²) + 0.3 · sqrt(μ_rg² + μ_yb²)` with `rg = R − G`, `yb = (R + G)/2 − B` and
 * population statistics. Sums are kept in integers (`2·yb`) so the result is exact.
 */
export function colorfulnessOf(img: RgbImage): number {
  const d = img.data;
  let rg = 0, rg2 = 0, yb = 0, yb2 = 0;
  for (let j = 0; j < d.length; j += 3) {
    const r = d[j], g = d[j + 1], b = d[j + 2];
    const a = r - g, c = r + g - 2 * b; // c = 2·yb
    rg += a;
    rg2 += a * a;
    yb += c;
    yb2 += c * c;
  }
  return colorfulnessFromMoments({ rg, rg2, yb2x: yb, yb2x2: yb2 }, d.length / 3);
}

/**
 * Colourfulness from the sums `rgbSweep` (lib/core/pixel_stats.ts) collects over `n` pixels: `rg` = Σ(R−G),
 * `rg2` = Σ(R−G)², `yb2x` = Σ(R+G−2B), `yb2x2` = Σ(R+G−2B)².
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorfulnessFromMoments } from "./colorfulness.ts";
 * assert.equal(colorfulnessFromMoments({ rg: 0, rg2: 0, yb2x: 0, yb2x2: 0 }, 4), 0);
 * ```
 */
export function colorfulnessFromMoments(
  m: Pick<RgbSums, "rg" | "rg2" | "yb2x" | "yb2x2">,
  n: number,
): number {
  const { rg, rg2, yb2x: yb, yb2x2: yb2 } = m;
  const varRg = (rg2 - rg * rg / n) / n;
  const varYb = (yb2 - yb * yb / n) / n / 4;
  const meanRg = rg / n, meanYb = yb / n / 2;
  return Math.sqrt(Math.max(0, varRg + varYb)) + 0.3 * Math.sqrt(meanRg * meanRg + meanYb * meanYb);
}

/** Hasler–Süsstrunk colourfulness. */
export const colorfulness: PureHeuristic = {
  name: "colorfulness",
  description:
    "How vivid the colours are (Hasler & Süsstrunk 2003); ~15 is 'slightly colourful', 60+ 'highly'.",
  errorType: "dull_colors",
  outputs: [{
    name: "colorfulness",
    unit: "Hasler–Süsstrunk M",
    direction: "higher_is_better",
    description: "sqrt(std_rg²+std_yb²) + 0.3·sqrt(mean_rg²+mean_yb²), rg=R−G, yb=(R+G)/2−B, population std",
  }],
  thresholds: [],
  compute(ctx) {
    // Moments from the fused RGB sweep (lib/core/pixel_stats.ts).
    return { colorfulness: colorfulnessFromMoments(ctx.rgbSums, ctx.width * ctx.height) };
  },
};
