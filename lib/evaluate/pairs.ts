/**
 * Pairwise image similarity, for a generated image against its reference (same size, 8-bit gray
 * as `toGray` gives it: OpenCV's luma):
 *
 * - {@link psnr}: `10 · log10(255² / MSE)`, `Infinity` for identical images (skimage
 *   `peak_signal_noise_ratio`, `data_range=255`).
 * - {@link ssim}: skimage `structural_similarity` with `gaussian_weights=True, sigma=1.5` (an
 *   11 × 11 Gaussian window), `use_sample_covariance=False`, `data_range=255`, `K1=0.01`, `K2=0.03`,
 *   mean over the valid region (a 5-pixel border is left out, so the border mode never matters).
 *
 * @module
 */

function checkPair(what: string, a: Uint8Array, b: Uint8Array): void {
  if (a.length !== b.length) {
    throw new RangeError(`${what}: the images differ in size (${a.length} and ${b.length} pixels)`);
  }
  if (!a.length) throw new RangeError(`${what}: the images are empty`);
}

/**
 * Peak signal-to-noise ratio of two 8-bit gray images in dB (`Infinity` when equal).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { psnr } from "./pairs.ts";
 * assert.equal(psnr(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), Infinity);
 * assert.ok(Math.abs(psnr(Uint8Array.of(0, 0), Uint8Array.of(255, 255))) < 1e-12);   // MSE = 255²
 * ```
 */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  checkPair("psnr", a, b);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** scipy's `_gaussian_kernel1d(sigma, 0, radius)`: normalised Gaussian taps. */
function gaussianTaps(sigma: number, radius: number): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-0.5 / (sigma * sigma) * i * i);
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Separable filter, valid region only: output `(h − 2r) × (w − 2r)`. */
function filterValid(src: Float64Array, w: number, h: number, k: Float64Array): Float64Array {
  const r = (k.length - 1) / 2, ow = w - 2 * r, oh = h - 2 * r;
  // Rows first over all rows (scipy filters axis 0 then 1; the order only moves the last bit).
  const tmp = new Float64Array(oh * w);
  for (let y = 0; y < oh; y++) {
    // Row by row (contiguous); each sum still adds the taps in order t = 0, 1, …
    const o = y * w;
    for (let t = 0; t < k.length; t++) {
      const kt = k[t], r = (y + t) * w;
      for (let x = 0; x < w; x++) tmp[o + x] += kt * src[r + x];
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k.length; t++) s += k[t] * tmp[y * w + x + t];
      out[y * ow + x] = s;
    }
  }
  return out;
}

/**
 * Mean structural similarity of two 8-bit gray images of `width × height` (see the module doc for
 * the exact definition). Images smaller than the 11 × 11 window are an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ssim } from "./pairs.ts";
 * const a = Uint8Array.from({ length: 16 * 16 }, (_, i) => (i * 37) % 256);
 * assert.equal(ssim(a, a, 16, 16), 1);
 * assert.ok(ssim(a, a.map((v) => 255 - v), 16, 16) < 0);
 * ```
 */
export function ssim(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  checkPair("ssim", a, b);
  if (a.length !== width * height) {
    throw new RangeError(`ssim: ${a.length} pixels is not ${width}×${height}`);
  }
  const sigma = 1.5, radius = Math.trunc(3.5 * sigma + 0.5);
  if (width < 2 * radius + 1 || height < 2 * radius + 1) {
    throw new RangeError(`ssim: images of ${width}×${height} are smaller than the 11×11 window`);
  }
  const k = gaussianTaps(sigma, radius);
  const n = a.length;
  const x = new Float64Array(n), y = new Float64Array(n);
  const xx = new Float64Array(n), yy = new Float64Array(n), xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = a[i];
    y[i] = b[i];
    xx[i] = a[i] * a[i];
    yy[i] = b[i] * b[i];
    xy[i] = a[i] * b[i];
  }
  const [ux, uy, uxx, uyy, uxy] = [x, y, xx, yy, xy].map((p) => filterValid(p, width, height, k));
  const c1 = (0.01 * 255) ** 2, c2 = (0.03 * 255) ** 2;
  let sum = 0;
  for (let i = 0; i < ux.length; i++) {
    const vx = uxx[i] - ux[i] * ux[i], vy = uyy[i] - uy[i] * uy[i], vxy = uxy[i] - ux[i] * uy[i];
    const a1 = 2 * ux[i] * uy[i] + c1, a2 = 2 * vxy + c2;
    const b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1, b2 = vx + vy + c2;
    sum += (a1 * a2) / (b1 * b2);
  }
  return sum / ux.length;
}
