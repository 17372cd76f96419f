/**
 * Resizing as Pillow does it, for the numbers of the evaluation field (CLIP inputs, clean-fid),
 * beside the OpenCV-exact resizers of `resize.ts`.
 *
 * - {@link resizePil}: `Image.resize(size, Image.BICUBIC)` on an 8-bit RGB image, byte for byte
 *   (Pillow's `ImagingResample`: a separable convolution whose support grows with the reduction —
 *   it antialiases — with the coefficients of each output pixel normalised to sum 1 and stored as
 *   fixed-point integers with 22 fractional bits; a horizontal pass over the rows the vertical pass
 *   needs, then the vertical pass, each rounded and clipped to 0–255).
 * - {@link resizePilFloat}: clean-fid's "clean" resize — each channel as a float32 `F` image,
 *   bicubic in double precision with a float32 intermediate, clipped to 0–255 — as HWC float32.
 *
 * Bicubic is Keys' kernel with `a = −0.5` (Pillow's), support 2.
 *
 * @module
 */
import type { RgbImage } from "./image.ts";

/** Pillow's `PRECISION_BITS` (32 − 8 − 2): fractional bits of the 8-bit coefficients. */
const PRECISION_BITS = 22;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Coefficients of one axis: output `i` reads `len[i]` inputs from `start[i]` with `weights[i*k …]`. */
interface Coeffs {
  start: Int32Array;
  len: Int32Array;
  /** Stride of `weights` per output sample. */
  k: number;
  weights: Float64Array;
}

/** Pillow's `precompute_coeffs` for the whole input range `[0, inSize)` and BICUBIC. */
function precompute(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const k = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const len = new Int32Array(outSize);
  const weights = new Float64Array(outSize * k);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      weights[xx * k + x] = w;
      ww += w;
    }
    if (ww !== 0) { for (let x = 0; x < xmax; x++) weights[xx * k + x] /= ww; }
    start[xx] = xmin;
    len[xx] = xmax;
  }
  return { start, len, k, weights };
}

/** Pillow's `normalize_coeffs_8bpc`: round half away from zero to 22 fractional bits. */
function fixedPoint(c: Coeffs): Int32Array {
  const out = new Int32Array(c.weights.length);
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < out.length; i++) {
    const w = c.weights[i];
    out[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
  }
  return out;
}

function clip8(v: number): number {
  if (v >= (1 << PRECISION_BITS) * 256) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / (1 << PRECISION_BITS));
}

function checkTarget(what: string, img: { width: number; height: number }, width: number, height: number) {
  for (const [k, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${what}: ${k} must be a positive integer, got ${v}`);
    }
  }
  if (!(img.width >= 1 && img.height >= 1)) {
    throw new RangeError(`${what}: the source image is empty (${img.width}×${img.height})`);
  }
}

/**
 * Pillow's `Image.resize((width, height), Image.BICUBIC)` of an 8-bit RGB image, byte for byte
 * (checked against Pillow 9.4 output in `../shared/reference/eval/`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizePil } from "./resize_pil.ts";
 * const img = { width: 4, height: 1, data: Uint8Array.from([0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255]) };
 * const out = resizePil(img, 2, 1);   // the antialiasing kernel reaches across the edge:
 * assert.deepEqual([...out.data], [21, 21, 21, 234, 234, 234]);   // Pillow 9.4 gives the same
 * ```
 */
export function resizePil(img: RgbImage, width: number, height: number): RgbImage {
  checkTarget("resizePil", img, width, height);
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(
      `resizePil: data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`,
    );
  }
  if (width === img.width && height === img.height) {
    return { width, height, data: img.data.slice() };
  }
  const needH = width !== img.width, needV = height !== img.height;
  const ch = precompute(img.width, width);
  const cv = precompute(img.height, height);
  const kh = fixedPoint(ch), kv = fixedPoint(cv);
  // Only the rows the vertical pass reads go through the horizontal pass, as in Pillow.
  const yFirst = needV ? cv.start[0] : 0;
  const yLast = needV ? cv.start[height - 1] + cv.len[height - 1] : img.height;
  let src = img.data, srcW = img.width, rows = img.height, rowOffset = 0;
  if (needH) {
    rows = yLast - yFirst;
    const tmp = new Uint8Array(width * rows * 3);
    const half = 1 << (PRECISION_BITS - 1);
    for (let y = 0; y < rows; y++) {
      const rowBase = (y + yFirst) * img.width * 3;
      for (let xx = 0; xx < width; xx++) {
        const s = ch.start[xx], n = ch.len[xx], kb = xx * ch.k;
        let s0 = half, s1 = half, s2 = half;
        for (let x = 0; x < n; x++) {
          const w = kh[kb + x], p = rowBase + (s + x) * 3;
          s0 += src[p] * w;
          s1 += src[p + 1] * w;
          s2 += src[p + 2] * w;
        }
        const o = (y * width + xx) * 3;
        tmp[o] = clip8(s0);
        tmp[o + 1] = clip8(s1);
        tmp[o + 2] = clip8(s2);
      }
    }
    src = tmp;
    srcW = width;
    rowOffset = yFirst;
  }
  if (!needV) return { width, height, data: src as Uint8Array };
  const out = new Uint8Array(width * height * 3);
  const half = 1 << (PRECISION_BITS - 1);
  const stride = srcW * 3;
  const acc = new Float64Array(stride);
  for (let yy = 0; yy < height; yy++) {
    // Row by row (contiguous reads); integer sums, so the order cannot change a value.
    const s = cv.start[yy] - rowOffset, n = cv.len[yy], kb = yy * cv.k;
    acc.fill(half);
    for (let y = 0; y < n; y++) {
      const w = kv[kb + y], r = (s + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] += src[r + i] * w;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) out[o + i] = clip8(acc[i]);
  }
  return { width, height, data: out };
}

function horizontalFloat(
  data: Uint8Array,
  W: number,
  yFirst: number,
  rows: number,
  width: number,
  ch: Coeffs,
): Float32Array {
  const tmp = new Float32Array(width * rows * 3);
  const weights = ch.weights, k = ch.k;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + yFirst) * W * 3;
    for (let xx = 0; xx < width; xx++) {
      const s = ch.start[xx], n = ch.len[xx], kb = xx * k;
      let s0 = 0, s1 = 0, s2 = 0;
      for (let x = 0; x < n; x++) {
        const w = weights[kb + x], p = rowBase + (s + x) * 3;
        s0 += data[p] * w;
        s1 += data[p + 1] * w;
        s2 += data[p + 2] * w;
      }
      const o = (y * width + xx) * 3;
      tmp[o] = s0;
      tmp[o + 1] = s1;
      tmp[o + 2] = s2;
    }
  }
  return tmp;
}

/**
 * clean-fid's "clean" resize of an 8-bit RGB image to `width × height`: each channel as a
 * float32 Pillow `F` image, `resize(BICUBIC)` (double accumulation, float32 storage after each
 * pass), clipped to 0–255. Returns HWC float32 (`height × width × 3`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizePilFloat } from "./resize_pil.ts";
 * const img = { width: 2, height: 1, data: Uint8Array.from([0, 10, 20, 255, 245, 235]) };
 * const out = resizePilFloat(img, 4, 1);
 * assert.equal(out.length, 12);
 * assert.ok(out.every((v) => v >= 0 && v <= 255));   // bicubic overshoot is clipped
 * assert.equal(out[0], 0);
 * ```
 */
export function resizePilFloat(img: RgbImage, width: number, height: number): Float32Array {
  checkTarget("resizePilFloat", img, width, height);
  const W = img.width, H = img.height;
  if (img.data.length !== W * H * 3) {
    throw new RangeError(`resizePilFloat: data has ${img.data.length} bytes, expected ${W}×${H}×3`);
  }
  const needH = width !== W, needV = height !== H;
  const ch = precompute(W, width);
  const cv = precompute(H, height);
  const yFirst = needV ? cv.start[0] : 0;
  const yLast = needV ? cv.start[height - 1] + cv.len[height - 1] : H;
  // The three channels as float32 `F` images, processed together. 8-bit values are exact in
  // float32, so the horizontal pass reads the bytes directly.
  let src: Float32Array;
  let srcW = W, rowOffset = 0;
  if (needH) {
    const rows = yLast - yFirst;
    src = horizontalFloat(img.data, W, yFirst, rows, width, ch);
    srcW = width;
    rowOffset = yFirst;
  } else {
    src = Float32Array.from(img.data);
  }
  let out = src;
  if (needV) {
    out = new Float32Array(width * height * 3);
    const stride = srcW * 3;
    const acc = new Float64Array(stride);
    for (let yy = 0; yy < height; yy++) {
      // Row by row (contiguous reads), double sums adding the taps in Pillow's order.
      const s = cv.start[yy] - rowOffset, n = cv.len[yy], kb = yy * cv.k;
      acc.fill(0);
      for (let y = 0; y < n; y++) {
        const w = cv.weights[kb + y], r = (s + y) * stride;
        for (let i = 0; i < stride; i++) acc[i] += src[r + i] * w;
      }
      out.set(acc, yy * stride);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > 255 ? 255 : out[i];
  return out;
}
