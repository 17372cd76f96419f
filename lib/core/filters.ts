/**
 * Small linear filters on one-channel planes with OpenCV's default border, BORDER_REFLECT_101
 * (`dcb|abcd|cba`): the 3×3 Laplacian, the normalised box blur and the Gaussian blur, as
 * `cv2.Laplacian`, `cv2.blur` and `cv2.GaussianBlur` compute them in `CV_64F`.
 *
 * @module
 */

/**
 * Mirrors index `i` into `0..n-1` like BORDER_REFLECT_101 (`dcb|abcd|cba`); `n === 1` gives 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reflect101 } from "./filters.ts";
 * assert.deepEqual([reflect101(-1, 4), reflect101(4, 4), reflect101(2, 4)], [1, 2, 2]);
 * ```
 */
export function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/**
 * Copies a `width × height` plane into one with a 1-pixel BORDER_REFLECT_101 frame, so 3×3
 * filters can run without bounds checks. Result is `(width + 2) × (height + 2)`.
 */
export function padReflect101(plane: Uint8Array, width: number, height: number): Uint8Array {
  const pw = width + 2;
  const out = new Uint8Array(pw * (height + 2));
  for (let y = -1; y <= height; y++) {
    const sy = reflect101(y, height);
    const row = (y + 1) * pw;
    out.set(plane.subarray(sy * width, sy * width + width), row + 1);
    out[row] = plane[sy * width + reflect101(-1, width)];
    out[row + pw - 1] = plane[sy * width + reflect101(width, width)];
  }
  return out;
}

/**
 * The 3×3 Laplacian `[[0,1,0],[1,-4,1],[0,1,0]]` with reflect-101 border, as
 * `cv2.Laplacian(plane, cv2.CV_64F)` (ksize 1). Exact for 8-bit input (integer arithmetic).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { laplacian3 } from "./filters.ts";
 * const lap = laplacian3(new Uint8Array([0, 0, 0, 0, 9, 0, 0, 0, 0]), 3, 3);
 * assert.deepEqual([lap[4], lap[1]], [-36, 18]);
 * ```
 */
export function laplacian3(plane: ArrayLike<number>, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  const xl = new Int32Array(width), xr = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    xl[x] = reflect101(x - 1, width);
    xr[x] = reflect101(x + 1, width);
  }
  for (let y = 0; y < height; y++) {
    const r = y * width;
    const up = reflect101(y - 1, height) * width, dn = reflect101(y + 1, height) * width;
    for (let x = 0; x < width; x++) {
      out[r + x] = plane[up + x] + plane[dn + x] + plane[r + xl[x]] + plane[r + xr[x]] - 4 * plane[r + x];
    }
  }
  return out;
}

/**
 * Separable filter with reflect-101 border: `kx` along rows, then `ky` along columns (odd lengths,
 * anchored at their centre), as `cv2.sepFilter2D(plane, cv2.CV_64F, kx, ky)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sepFilter } from "./filters.ts";
 * const out = sepFilter(new Float64Array([0, 3, 0]), 3, 1, [1 / 3, 1 / 3, 1 / 3], [1]);
 * assert.deepEqual([...out].map((v) => +v.toFixed(12)), [2, 1, 2]);
 * ```
 */
export function sepFilter(
  plane: ArrayLike<number>,
  width: number,
  height: number,
  kx: readonly number[],
  ky: readonly number[],
): Float64Array {
  const rx = (kx.length - 1) / 2, ry = (ky.length - 1) / 2;
  if (!Number.isInteger(rx) || !Number.isInteger(ry)) throw new RangeError("sepFilter: kernels must be odd");
  // Reflected indices tabulated once (per tap: column x, row y), and taps copied to typed arrays;
  // the sums are the same products added in the same order.
  const nx = kx.length, ny = ky.length;
  const wx = Float64Array.from(kx), wy = Float64Array.from(ky);
  const cols = new Int32Array(width * nx), rows = new Int32Array(height * ny);
  for (let x = 0; x < width; x++) {
    for (let k = 0; k < nx; k++) cols[x * nx + k] = reflect101(x + k - rx, width);
  }
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < ny; k++) rows[y * ny + k] = reflect101(y + k - ry, height) * width;
  }
  const tmp = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const r = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = 0, c = x * nx; k < nx; k++, c++) s += wx[k] * plane[r + cols[c]];
      tmp[r + x] = s;
    }
  }
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const r = y * width, ro = y * ny;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = 0; k < ny; k++) s += wy[k] * tmp[rows[ro + k] + x];
      out[r + x] = s;
    }
  }
  return out;
}

/**
 * Normalised box blur of odd size `k × k`, reflect-101 border, as `cv2.blur(plane, (k, k))`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boxBlur } from "./filters.ts";
 * assert.ok(Math.abs(boxBlur(new Float64Array(9).fill(2), 3, 3)[4] - 2) < 1e-12);
 * ```
 */
export function boxBlur(plane: ArrayLike<number>, width: number, height: number, k = 3): Float64Array {
  const kernel = new Array<number>(k).fill(1 / k);
  return sepFilter(plane, width, height, kernel, kernel);
}

/**
 * The 1-D Gaussian kernel of `cv2.getGaussianKernel(ksize, sigma, cv2.CV_64F)`: weights
 * `exp(-(i - (ksize-1)/2)² / (2 sigma²))`, normalised to sum 1. (For `sigma <= 0` OpenCV derives
 * sigma from ksize: `0.3 * ((ksize - 1) * 0.5 - 1) + 0.8`.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gaussianKernel } from "./filters.ts";
 * assert.deepEqual(gaussianKernel(3, 1).map((v) => v.toFixed(4)), ["0.2741", "0.4519", "0.2741"]);
 * ```
 */
export function gaussianKernel(ksize: number, sigma: number): number[] {
  const s = sigma > 0 ? sigma : 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8;
  const c = (ksize - 1) / 2;
  const k = Array.from({ length: ksize }, (_, i) => Math.exp(-((i - c) ** 2) / (2 * s * s)));
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
}

/**
 * Gaussian blur with a `ksize × ksize` kernel and the same sigma on both axes, reflect-101
 * border, as `cv2.GaussianBlur(plane, (ksize, ksize), sigma)` on a `float64` array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gaussianBlur } from "./filters.ts";
 * assert.ok(Math.abs(gaussianBlur(new Float64Array(25).fill(1), 5, 5, 5, 8)[12] - 1) < 1e-12);
 * ```
 */
export function gaussianBlur(
  plane: ArrayLike<number>,
  width: number,
  height: number,
  ksize: number,
  sigma: number,
): Float64Array {
  const k = gaussianKernel(ksize, sigma);
  return sepFilter(plane, width, height, k, k);
}
