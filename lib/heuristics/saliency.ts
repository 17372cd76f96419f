/**
 * Saliency: where people look first, and whether that part is sharp. A generated image whose
 * background is crisp but whose subject is soft fails viewers even when a global sharpness score
 * passes, so the Laplacian spread is weighted by a saliency map. The map is the spectral residual
 * of Hou & Zhang (CVPR 2007), computed as OpenCV's `cv2.saliency.StaticSaliencySpectralResidual`
 * does; it also gives the saliency centroid and a saliency-aware crop suggestion.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { saliency } from "./saliency.ts";
 * const data = new Uint8Array(32 * 32 * 3).fill(20);
 * for (let y = 4; y < 10; y++) for (let x = 20; x < 26; x++) data.fill(250, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
 * const v = saliency.compute(new ImageContext({ width: 32, height: 32, data }));
 * assert.ok((v.saliency_center_x as number) > 0.5 && (v.saliency_center_y as number) < 0.5);
 * ```
 * @module
 */
import type { Box, PureHeuristic, Value } from "./types.ts";
import { ImageContext } from "./types.ts";
import { resizeArea, resizeBilinear } from "../resize.ts";
import { boxBlur, gaussianBlur, laplacian3 } from "../filters.ts";

/** Side of the square the spectral residual is computed on (OpenCV's `resImWidth/resImHeight`). */
export const SALIENCY_SIZE = 64;

/** In-place radix-2 FFT of length-`n` complex vector (`re`, `im`) read/written with a stride. */
function fft1(re: Float64Array, im: Float64Array, off: number, stride: number, n: number, inverse: boolean) {
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const a = off + i * stride, b = off + j * stride;
      [re[a], re[b]] = [re[b], re[a]];
      [im[a], im[b]] = [im[b], im[a]];
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    for (let k = 0; k < half; k++) {
      const ang = (sign * 2 * Math.PI * k) / len;
      const wr = Math.cos(ang), wi = Math.sin(ang);
      for (let s = 0; s < n; s += len) {
        const a = off + (s + k) * stride, b = a + half * stride;
        const xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

/** Unscaled 2-D DFT of an `n × n` complex plane (n a power of two), in place; `inverse` flips the sign. */
function fft2(re: Float64Array, im: Float64Array, n: number, inverse: boolean): void {
  for (let y = 0; y < n; y++) fft1(re, im, y * n, 1, n, inverse);
  for (let x = 0; x < n; x++) fft1(re, im, x, n, n, inverse);
}

/**
 * The 64×64 spectral-residual saliency map of a gray plane, as
 * `cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency()` computes it before its
 * final resize: gray resized to 64×64 (bilinear, bit-exact INTER_LINEAR_EXACT), 2-D DFT, log
 * amplitude `log(|F| + 1)` (OpenCV ≥ 4.0 adds the 1 so empty frequencies stay finite), residual =
 * log amplitude − its 3×3 box blur (reflect-101), inverse DFT of
 * `exp(residual)` with the original phase, magnitude, 5×5 Gaussian blur with sigma 8
 * (reflect-101), squared, divided by its maximum. Values are in 0–1, row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saliencyMap } from "./saliency.ts";
 * const gray = new Uint8Array(100 * 80).map((_, i) => ((i % 100) - 50) ** 2 + ((i / 100 | 0) - 40) ** 2 < 64 ? 255 : 0);
 * const map = saliencyMap(gray, 100, 80);
 * assert.deepEqual([map.length, Math.max(...map)], [4096, 1]);
 * ```
 */
export function saliencyMap(gray: Uint8Array, width: number, height: number): Float64Array {
  const n = SALIENCY_SIZE;
  const small = resizeBilinear(gray, width, height, n, n);
  const re = Float64Array.from(small), im = new Float64Array(n * n);
  fft2(re, im, n, false);
  const logAmp = new Float64Array(n * n), phase = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    logAmp[i] = Math.log(Math.hypot(re[i], im[i]) + 1);
    phase[i] = Math.atan2(im[i], re[i]);
  }
  const blurred = boxBlur(logAmp, n, n, 3);
  for (let i = 0; i < n * n; i++) {
    const m = Math.exp(logAmp[i] - blurred[i]);
    re[i] = m * Math.cos(phase[i]);
    im[i] = m * Math.sin(phase[i]);
  }
  fft2(re, im, n, true);
  const mag = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) mag[i] = Math.hypot(re[i], im[i]);
  const out = gaussianBlur(mag, n, n, 5, 8);
  let max = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] *= out[i];
    if (out[i] > max) max = out[i];
  }
  if (!(max > 0) || !Number.isFinite(max)) return out.fill(0);
  for (let i = 0; i < out.length; i++) out[i] /= max;
  return out;
}

/**
 * The saliency map at the image's own size: the 64×64 {@link saliencyMap} resized bilinearly
 * (half-pixel centres) to `width × height`, as OpenCV's `computeSaliency` returns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saliencyFull } from "./saliency.ts";
 * const full = saliencyFull(new Uint8Array(30 * 20).map((_, i) => (i * 7919) % 251), 30, 20);
 * assert.equal(full.length, 600);
 * ```
 */
export function saliencyFull(gray: Uint8Array, width: number, height: number): Float64Array {
  return resizeBilinear(saliencyMap(gray, width, height), SALIENCY_SIZE, SALIENCY_SIZE, width, height);
}

function fullOf(ctx: ImageContext): Float64Array {
  const map = ctx.memo("saliency64", () => saliencyMap(ctx.gray, ctx.width, ctx.height));
  return ctx.memo(
    "saliencyFull",
    () => resizeBilinear(map, SALIENCY_SIZE, SALIENCY_SIZE, ctx.width, ctx.height),
  );
}

/**
 * The 16×16 saliency map of the golden reference: the image-size map ({@link saliencyFull})
 * area-averaged (INTER_AREA) to 16×16. Takes an {@link ImageContext} (memoised) or a gray plane.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saliency16 } from "./saliency.ts";
 * const s = saliency16(new Uint8Array(40 * 40).map((_, i) => (i * 31) % 256), 40, 40);
 * assert.equal(s.length, 256);
 * ```
 */
export function saliency16(ctx: ImageContext): Float64Array;
export function saliency16(gray: Uint8Array, width: number, height: number): Float64Array;
export function saliency16(src: ImageContext | Uint8Array, width?: number, height?: number): Float64Array {
  if (src instanceof ImageContext) return resizeArea(fullOf(src), src.width, src.height, 16, 16);
  return resizeArea(saliencyFull(src, width!, height!), width!, height!, 16, 16);
}

/**
 * Saliency centroid `{ x, y }` as fractions 0–1 of width and height (pixel centres at `i + 0.5`),
 * or `null` when the map has no mass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saliencyCentroid } from "./saliency.ts";
 * assert.deepEqual(saliencyCentroid(new Float64Array([0, 0, 0, 1]), 2, 2), { x: 0.75, y: 0.75 });
 * ```
 */
export function saliencyCentroid(
  map: ArrayLike<number>,
  width: number,
  height: number,
): { x: number; y: number } | null {
  let s = 0, sx = 0, sy = 0;
  for (let y = 0; y < height; y++) {
    let row = 0, rowX = 0;
    for (let x = 0; x < width; x++) {
      const v = map[y * width + x];
      row += v;
      rowX += v * (x + 0.5);
    }
    s += row;
    sx += rowX;
    sy += row * (y + 0.5);
  }
  return s > 0 ? { x: sx / s / width, y: sy / s / height } : null;
}

/**
 * Saliency-aware crop: the largest window of aspect ratio `aspect` (width / height, default 1:1)
 * that fits the image, times `scale` (0–1], placed where the saliency mass inside it is largest
 * (found with an integral image, every position tried; ties go to the position nearest the image
 * centre). Returns pixels of the image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saliencyCrop } from "./saliency.ts";
 * const map = new Float64Array(6 * 2); map[5] = 1; // mass at the right edge of a 6×2 map
 * assert.deepEqual(saliencyCrop(map, 6, 2), { x: 4, y: 0, width: 2, height: 2 });
 * ```
 */
export function saliencyCrop(
  map: ArrayLike<number>,
  width: number,
  height: number,
  aspect = 1,
  scale = 1,
): Box {
  if (!(aspect > 0) || !(scale > 0 && scale <= 1)) {
    throw new RangeError(`saliencyCrop: aspect must be > 0 and scale in (0, 1], got ${aspect}, ${scale}`);
  }
  let cw: number, ch: number;
  if (width / height >= aspect) {
    ch = height;
    cw = Math.min(width, Math.max(1, Math.round(height * aspect)));
  } else {
    cw = width;
    ch = Math.min(height, Math.max(1, Math.round(width / aspect)));
  }
  cw = Math.max(1, Math.round(cw * scale));
  ch = Math.max(1, Math.round(ch * scale));
  const iw = width + 1;
  const integral = new Float64Array(iw * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += map[y * width + x];
      integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + row;
    }
  }
  const cx0 = (width - cw) / 2, cy0 = (height - ch) / 2;
  // Relative tolerance so float noise in the integral image does not decide ties.
  const tol = 1e-12 * Math.max(1, integral[integral.length - 1]);
  let best = -Infinity, bx = 0, by = 0, bestDist = Infinity;
  for (let y = 0; y + ch <= height; y++) {
    for (let x = 0; x + cw <= width; x++) {
      const m = integral[(y + ch) * iw + x + cw] - integral[y * iw + x + cw] - integral[(y + ch) * iw + x] +
        integral[y * iw + x];
      const dist = (x - cx0) ** 2 + (y - cy0) ** 2;
      if (m > best + tol || (m >= best - tol && dist < bestDist)) {
        best = Math.max(best, m);
        bx = x;
        by = y;
        bestDist = dist;
      }
    }
  }
  return { x: bx, y: by, width: cw, height: ch };
}

/**
 * Population variance of the 3×3 Laplacian of `gray` weighted by `weights` (same size, ≥ 0):
 * with `w` normalised to sum 1, `Σ w·(L − Σ w·L)²`. `null` when the weights have no mass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { weightedLaplacianVar } from "./saliency.ts";
 * const gray = new Uint8Array([0, 0, 0, 0, 10, 0, 0, 0, 0]);
 * assert.equal(weightedLaplacianVar(gray, 3, 3, new Float64Array(9).fill(1))?.toFixed(2), "335.80");
 * ```
 */
export function weightedLaplacianVar(
  gray: Uint8Array,
  width: number,
  height: number,
  weights: ArrayLike<number>,
): number | null {
  const lap = laplacian3(gray, width, height);
  let s = 0, sl = 0;
  for (let i = 0; i < lap.length; i++) {
    s += weights[i];
    sl += weights[i] * lap[i];
  }
  if (!(s > 0)) return null;
  const mean = sl / s;
  let v = 0;
  for (let i = 0; i < lap.length; i++) v += weights[i] * (lap[i] - mean) ** 2;
  return v / s;
}

/** Saliency heuristic: subject sharpness, saliency centroid and a 1:1 saliency-aware crop. */
export const saliency: PureHeuristic = {
  name: "saliency",
  description: "Sharpness of the part of the image people look at (Laplacian variance weighted by a " +
    "spectral-residual saliency map, Hou & Zhang 2007), where that part is, and a square crop keeping it.",
  errorType: "low_subject_sharpness",
  outputs: [
    {
      name: "saliency_sharpness",
      unit: "gray levels²",
      direction: "higher_is_better",
      description: "Variance of the 3×3 Laplacian ([[0,1,0],[1,-4,1],[0,1,0]], reflect-101) of the gray " +
        "plane, weighted by the spectral-residual saliency map (OpenCV StaticSaliencySpectralResidual, " +
        "64×64, bilinearly resized to the image): Σw(L−μw)²/Σw with μw = ΣwL/Σw.",
    },
    {
      name: "saliency_center_x",
      unit: "fraction 0–1 of width",
      direction: "neither",
      description: "Saliency-weighted mean of (x + 0.5) / width over the image-size saliency map.",
    },
    {
      name: "saliency_center_y",
      unit: "fraction 0–1 of height",
      direction: "neither",
      description: "Saliency-weighted mean of (y + 0.5) / height over the image-size saliency map.",
    },
    {
      name: "crop_x",
      unit: "pixels",
      direction: "neither",
      description: "Left edge of the largest square window holding the most saliency mass (integral image).",
    },
    {
      name: "crop_y",
      unit: "pixels",
      direction: "neither",
      description: "Top edge of the suggested square crop.",
    },
    {
      name: "crop_width",
      unit: "pixels",
      direction: "neither",
      description: "Width of the suggested square crop: min(width, height).",
    },
    {
      name: "crop_height",
      unit: "pixels",
      direction: "neither",
      description: "Height of the suggested square crop: min(width, height).",
    },
  ],
  // No default: the weighted Laplacian variance scales with image content and resolution like
  // laplacian_var does, so a cut-off needs calibration on labelled images.
  thresholds: [],
  compute(ctx: ImageContext): Record<string, Value> {
    const full = fullOf(ctx);
    const { width, height } = ctx;
    const c = saliencyCentroid(full, width, height);
    const crop = saliencyCrop(full, width, height);
    return {
      saliency_sharpness: weightedLaplacianVar(ctx.gray, width, height, full),
      saliency_center_x: c?.x ?? null,
      saliency_center_y: c?.y ?? null,
      crop_x: crop.x,
      crop_y: crop.y,
      crop_width: crop.width,
      crop_height: crop.height,
    };
  },
};
