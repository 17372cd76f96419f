/**
 * Exposure: mean brightness and the share of crushed shadows and blown highlights. Generations
 * that came out nearly black or washed out fail here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { exposure } from "./exposure.ts";
 * const black = { width: 2, height: 2, data: new Uint8Array(12) };
 * assert.deepEqual(exposure.compute(new ImageContext(black)).dark_frac, 1);
 * ```
 * @module
 */
import type { PureHeuristic } from "./types.ts";
import { BRIGHT_LEVEL, DARK_LEVEL } from "../core/pixel_stats.ts";

export { BRIGHT_LEVEL, DARK_LEVEL };

/** Mean gray and the fractions of near-black and near-white pixels. */
export const exposure: PureHeuristic = {
  name: "exposure",
  description: "Brightness of the gray image and how much of it is crushed to black or blown to white.",
  errorType: "exposure",
  outputs: [
    {
      name: "gray_mean",
      unit: "gray level 0–255",
      direction: "neither",
      description: "mean of the OpenCV 8-bit gray image",
    },
    {
      name: "dark_frac",
      unit: "fraction 0–1",
      direction: "lower_is_better",
      description: `fraction of pixels with gray ≤ ${DARK_LEVEL}`,
    },
    {
      name: "bright_frac",
      unit: "fraction 0–1",
      direction: "lower_is_better",
      description: `fraction of pixels with gray ≥ ${BRIGHT_LEVEL}`,
    },
  ],
  thresholds: [
    { output: "dark_frac", max: 0.6, errorType: "underexposed", source: "eyeballed default: calibrate it" },
    { output: "bright_frac", max: 0.6, errorType: "overexposed", source: "eyeballed default: calibrate it" },
  ],
  compute(ctx) {
    // Σ gray and the dark and bright counts come from the fused RGB sweep (lib/core/pixel_stats.ts).
    const s = ctx.rgbSums, n = ctx.width * ctx.height;
    return { gray_mean: s.graySum / n, dark_frac: s.darkPixels / n, bright_frac: s.brightPixels / n };
  },
};
