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
import { GRID, weightedLaplacianVarOf } from "../core/pixel_stats.ts";
import { linearTab, resizeArea, resizeBilinear } from "../core/resize.ts";
import { gaussianKernel, laplacian3, padReflect101, reflect101 } from "../core/filters.ts";

/** Side of the square the spectral residual is computed on (OpenCV's `resImWidth/resImHeight`). */
export const SALIENCY_SIZE = GRID;

/** The kernels of `boxBlur(·, 3)` and `gaussianBlur(·, 5, 8)`, made once. */
const BOX_3 = Float64Array.of(1 / 3, 1 / 3, 1 / 3), GAUSS_5_8 = Float64Array.from(gaussianKernel(5, 8));

/** Twiddle factors `cos/sin(2πk/n)` for k < n/2, per FFT length, computed once. */
const TWIDDLES = new Map<number, { cos: Float64Array; sin: Float64Array }>();
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = TWIDDLES.get(n);
  if (!t) {
    t = { cos: new Float64Array(n / 2), sin: new Float64Array(n / 2) };
    for (let k = 0; k < n / 2; k++) {
      t.cos[k] = Math.cos((2 * Math.PI * k) / n);
      t.sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    TWIDDLES.set(n, t);
  }
  return t;
}

/** The bit-reversal swaps `(i, j)`, i < j, of a length-`n` FFT in the order they are made, per n. */
const SWAPS = new Map<number, Int32Array>();
function swaps(n: number): Int32Array {
  let t = SWAPS.get(n);
  if (!t) {
    const pairs: number[] = [];
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) pairs.push(i, j);
    }
    SWAPS.set(n, t = Int32Array.from(pairs));
  }
  return t;
}

/**
 * In-place radix-2 FFTs of the `n` lines of an `n × n` complex plane (`re`, `im`): element `i` of
 * line `l` is at `i·step + l·lineStep` (rows: step 1, lineStep n; columns: step n, lineStep 1).
 * Each butterfly is applied to every line before the next (one twiddle per inner loop of n lines);
 * every line sees the same operations in the same order as a one-line FFT, so the values are those
 * of transforming the lines one by one.
 */
function fftLines(
  re: Float64Array,
  im: Float64Array,
  n: number,
  step: number,
  lineStep: number,
  inverse: boolean,
): void {
  const sw = swaps(n);
  for (let p = 0; p < sw.length; p += 2) {
    const a0 = sw[p] * step, b0 = sw[p + 1] * step;
    for (let l = 0, o = 0; l < n; l++, o += lineStep) {
      const a = a0 + o, b = b0 + o;
      const tr = re[a], ti = im[a];
      re[a] = re[b];
      im[a] = im[b];
      re[b] = tr;
      im[b] = ti;
    }
  }
  const sign = inverse ? 1 : -1;
  const tw = twiddles(n);
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1, tstep = n / len;
    for (let k = 0; k < half; k++) {
      // cos/sin(sign·2πk/len) = table entry k·n/len.
      const wr = tw.cos[k * tstep], wi = sign * tw.sin[k * tstep];
      for (let s = 0; s < n; s += len) {
        const a0 = (s + k) * step, b0 = a0 + half * step;
        for (let l = 0, o = 0; l < n; l++, o += lineStep) {
          const a = a0 + o, b = b0 + o;
          const xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
}

/** Unscaled 2-D DFT of an `n × n` complex plane (n a power of two), in place; `inverse` flips the sign. */
function fft2(re: Float64Array, im: Float64Array, n: number, inverse: boolean): void {
  fftLines(re, im, n, 1, n, inverse);
  fftLines(re, im, n, n, 1, inverse);
}

/** Scratch planes of {@link saliencyMap}, made once per thread (nothing of them outlives a call). */
const SCRATCH = Array.from({ length: 7 }, () => new Float64Array(SALIENCY_SIZE * SALIENCY_SIZE));

/** Reflected tap indices of an odd kernel of `taps` over `n` samples, per (n, taps), made once. */
const REFLECTED = new Map<string, Int32Array>();
function reflectedTaps(n: number, taps: number): Int32Array {
  const key = `${n}:${taps}`;
  let t = REFLECTED.get(key);
  if (!t) {
    const r = (taps - 1) / 2;
    t = new Int32Array(n * taps);
    for (let x = 0; x < n; x++) for (let k = 0; k < taps; k++) t[x * taps + k] = reflect101(x + k - r, n);
    REFLECTED.set(key, t);
  }
  return t;
}

/**
 * `sepFilter(plane, n, n, k, k)` (reflect-101) into `out`, with `tmp` as scratch: the same products
 * added in the same order, without per-call tables or planes.
 */
function sepFilterSquare(
  plane: Float64Array,
  n: number,
  k: Float64Array,
  tmp: Float64Array,
  out: Float64Array,
) {
  const taps = k.length, idx = reflectedTaps(n, taps);
  for (let y = 0; y < n; y++) {
    const r = y * n;
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let j = 0, c = x * taps; j < taps; j++, c++) s += k[j] * plane[r + idx[c]];
      tmp[r + x] = s;
    }
  }
  for (let y = 0; y < n; y++) {
    const r = y * n, ro = y * taps;
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let j = 0; j < taps; j++) s += k[j] * tmp[idx[ro + j] * n + x];
      out[r + x] = s;
    }
  }
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
  const [re, im, logAmp, cosP, sinP, blurred, tmp] = SCRATCH;
  re.set(small);
  im.fill(0);
  fft2(re, im, n, false);
  // The phase is kept as its cosine and sine (re/|F|, im/|F|; 1 and 0 where |F| = 0, as
  // atan2(0, 0) = 0 gives): the same unit vector as cos/sin of atan2, without three
  // transcendental calls per frequency.
  for (let i = 0; i < n * n; i++) {
    const mag = Math.sqrt(re[i] * re[i] + im[i] * im[i]);
    logAmp[i] = Math.log(mag + 1);
    cosP[i] = mag > 0 ? re[i] / mag : 1;
    sinP[i] = mag > 0 ? im[i] / mag : 0;
  }
  sepFilterSquare(logAmp, n, BOX_3, tmp, blurred);
  for (let i = 0; i < n * n; i++) {
    const m = Math.exp(logAmp[i] - blurred[i]);
    re[i] = m * cosP[i];
    im[i] = m * sinP[i];
  }
  fft2(re, im, n, true);
  const mag = logAmp;
  for (let i = 0; i < n * n; i++) mag[i] = Math.sqrt(re[i] * re[i] + im[i] * im[i]);
  const out = new Float64Array(n * n);
  sepFilterSquare(mag, n, GAUSS_5_8, tmp, out);
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
  const map = ctx.memo("saliency64", () => saliencyMap(ctx.grayNow(), ctx.width, ctx.height));
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

/** `linearTab(SALIENCY_SIZE, size, false)`, kept for the last two sizes (read only). */
const MAP_TABS: { size: number; tab: { ofs: Int32Array; w1: Float64Array } }[] = [];
function mapTab(size: number): { ofs: Int32Array; w1: Float64Array } {
  let t = MAP_TABS.find((m) => m.size === size);
  if (!t) {
    t = { size, tab: linearTab(SALIENCY_SIZE, size, false) };
    MAP_TABS.unshift(t);
    MAP_TABS.length = Math.min(MAP_TABS.length, 2);
  }
  return t.tab;
}

/**
 * The image-size saliency map ({@link saliencyFull}) without storing it: the 64 map rows resized
 * horizontally to the image width, plus OpenCV's vertical coefficient table. Row `y` of the full
 * map is `b0·rows[s] + b1·rows[s+1]`, the same arithmetic `cv2.resize` does, so every statistic
 * below equals the one computed on the stored map (up to summation order), at a fraction of the
 * memory and time: per-row and per-column sums come from 64 rows instead of `height`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saliencyMap, SaliencyField } from "./saliency.ts";
 * const gray = new Uint8Array(40 * 30).map((_, i) => (i * 7919) % 251);
 * const field = new SaliencyField(saliencyMap(gray, 40, 30), 40, 30);
 * assert.equal(field.squareCrop().width, 30);
 * ```
 */
export class SaliencyField {
  readonly #map: Float64Array;
  readonly #tx: { ofs: Int32Array; w1: Float64Array };
  readonly #ofs: Int32Array;
  readonly #w1: Float64Array;
  #rows?: Float64Array;

  constructor(map: Float64Array, readonly width: number, readonly height: number) {
    this.#map = map;
    this.#tx = mapTab(width);
    const ty = mapTab(height);
    this.#ofs = ty.ofs;
    this.#w1 = ty.w1;
  }

  /** The map rows resized to the image width: SALIENCY_SIZE × width (made when first read). */
  get rows(): Float64Array {
    if (this.#rows) return this.#rows;
    const n = SALIENCY_SIZE, width = this.width, map = this.#map, tx = this.#tx;
    const rows = new Float64Array(n * width);
    for (let r = 0; r < n; r++) {
      for (let x = 0; x < width; x++) {
        const s = tx.ofs[x], a1 = tx.w1[x];
        rows[r * width + x] = a1 === 0
          ? map[r * n + s]
          : map[r * n + s] * Math.fround(1 - a1) + map[r * n + s + 1] * a1;
      }
    }
    return this.#rows = rows;
  }

  /** Row `y` of the image-size map, written into `out` (length `width`). */
  row(y: number, out: Float64Array): Float64Array {
    const w = this.width, b1 = this.#w1[y], s = this.#ofs[y];
    const r0 = s * w, r1 = Math.min(s + 1, SALIENCY_SIZE - 1) * w;
    const rows = this.rows;
    if (b1 === 0) out.set(rows.subarray(r0, r0 + w));
    else {
      const b0 = Math.fround(1 - b1);
      for (let x = 0; x < w; x++) out[x] = rows[r0 + x] * b0 + rows[r1 + x] * b1;
    }
    return out;
  }

  /**
   * How much each of the 64 map rows contributes to image row `y`: row `s` with weight `b0`, row
   * `r1` with weight `b1` (`s, 1, s, 0` when the row falls on a map row), as
   * `this.#c = [s, b0, r1, b1]` (one array reused: a fresh tuple per image row cost ≈ 0.9 MB of
   * garbage per 1024-row image).
   */
  readonly #c = new Float64Array(4);
  #coefficients(y: number): Float64Array {
    const b1 = this.#w1[y], s = this.#ofs[y], c = this.#c;
    c[0] = s;
    c[2] = b1 === 0 ? s : Math.min(s + 1, SALIENCY_SIZE - 1);
    c[1] = b1 === 0 ? 1 : Math.fround(1 - b1);
    c[3] = b1;
    return c;
  }

  /**
   * Per-map-row sums of `rows`, plain and weighted by pixel-centre x, computed once: from the map
   * itself and the weight each map column gets summed over the image columns (64 × 64 products
   * instead of 64 × width; equal up to summation order).
   */
  #sums?: { plain: Float64Array; byX: Float64Array };
  #rowSums(): { plain: Float64Array; byX: Float64Array } {
    if (this.#sums) return this.#sums;
    const n = SALIENCY_SIZE, tx = this.#tx, map = this.#map;
    const w0 = new Float64Array(n), wx = new Float64Array(n);
    for (let x = 0; x < this.width; x++) {
      const s = tx.ofs[x], a1 = tx.w1[x], cx = x + 0.5;
      if (a1 === 0) {
        w0[s] += 1;
        wx[s] += cx;
      } else {
        const a0 = Math.fround(1 - a1);
        w0[s] += a0;
        wx[s] += a0 * cx;
        w0[s + 1] += a1;
        wx[s + 1] += a1 * cx;
      }
    }
    const plain = new Float64Array(n), byX = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let a = 0, ax = 0;
      for (let c = 0; c < n; c++) {
        a += map[r * n + c] * w0[c];
        ax += map[r * n + c] * wx[c];
      }
      plain[r] = a;
      byX[r] = ax;
    }
    return this.#sums = { plain, byX };
  }

  /** Saliency-weighted mean position as fractions of width and height (see {@link saliencyCentroid}). */
  centroid(): { x: number; y: number } | null {
    const { plain: sums, byX: sumsX } = this.#rowSums();
    const ofs = this.#ofs, w1 = this.#w1, height = this.height, last = SALIENCY_SIZE - 1;
    let s = 0, sx = 0, sy = 0;
    for (let y = 0; y < height; y++) {
      // The weights of #coefficients, inline (a plain loop of doubles allocates nothing).
      const b1 = w1[y], r0 = ofs[y], zero = b1 === 0;
      const r1 = zero ? r0 : Math.min(r0 + 1, last), b0 = zero ? 1 : Math.fround(1 - b1);
      const row = sums[r0] * b0 + sums[r1] * b1;
      s += row;
      sx += sumsX[r0] * b0 + sumsX[r1] * b1;
      sy += row * (y + 0.5);
    }
    return s > 0 ? { x: sx / s / this.width, y: sy / s / this.height } : null;
  }

  /**
   * The largest square window with the most saliency mass, as {@link saliencyCrop} with aspect 1
   * and scale 1 finds it: the window spans the shorter side, so only a 1-D slide is searched.
   */
  squareCrop(): Box {
    const { width, height } = this;
    const side = Math.min(width, height);
    // A square image has one window: itself.
    if (width === height) return { x: 0, y: 0, width: side, height: side };
    let mass: Float64Array;
    if (width >= height) {
      // Column masses: Σ_y full(x, y) = Σ_r c_r · rows[r][x].
      const c = new Float64Array(SALIENCY_SIZE);
      for (let y = 0; y < height; y++) {
        const k = this.#coefficients(y);
        c[k[0]] += k[1];
        c[k[2]] += k[3];
      }
      mass = new Float64Array(width);
      const rows = this.rows;
      for (let r = 0; r < SALIENCY_SIZE; r++) {
        if (c[r] === 0) continue;
        for (let x = 0; x < width; x++) mass[x] += c[r] * rows[r * width + x];
      }
    } else {
      const sums = this.#rowSums().plain;
      mass = new Float64Array(height);
      for (let y = 0; y < height; y++) {
        const k = this.#coefficients(y);
        mass[y] = sums[k[0]] * k[1] + sums[k[2]] * k[3];
      }
    }
    const prefix = new Float64Array(mass.length + 1);
    for (let i = 0; i < mass.length; i++) prefix[i + 1] = prefix[i] + mass[i];
    const centre = (mass.length - side) / 2;
    const tol = 1e-12 * Math.max(1, prefix[mass.length]);
    let best = -Infinity, at = 0, bestDist = Infinity;
    for (let i = 0; i + side <= mass.length; i++) {
      const m = prefix[i + side] - prefix[i];
      const dist = (i - centre) ** 2;
      if (m > best + tol || (m >= best - tol && dist < bestDist)) {
        best = Math.max(best, m);
        at = i;
        bestDist = dist;
      }
    }
    return width >= height
      ? { x: at, y: 0, width: side, height: side }
      : { x: 0, y: at, width: side, height: side };
  }

  /**
   * {@link weightedLaplacianVar} with this map as the weights, in one pass and without storing
   * the Laplacian or the weights: `Σw·L² / Σw − (Σw·L / Σw)²`.
   */
  weightedLaplacianVar(gray: Uint8Array, padded?: Uint8Array): number | null {
    const { width, height } = this;
    const p = padded ?? padReflect101(gray, width, height);
    const pw = width + 2;
    const w = new Float64Array(width);
    let s = 0, sl = 0, sl2 = 0;
    for (let y = 0; y < height; y++) {
      this.row(y, w);
      let i = (y + 1) * pw + 1;
      for (let x = 0; x < width; x++, i++) {
        const lap = p[i - pw] + p[i + pw] + p[i - 1] + p[i + 1] - 4 * p[i];
        const wx = w[x];
        s += wx;
        sl += wx * lap;
        sl2 += wx * lap * lap;
      }
    }
    if (!(s > 0)) return null;
    const mean = sl / s;
    return Math.max(0, sl2 / s - mean * mean);
  }
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
    const map = ctx.memo("saliency64", () => saliencyMap(ctx.grayNow(), ctx.width, ctx.height));
    const field = new SaliencyField(map, ctx.width, ctx.height);
    const c = field.centroid();
    const crop = field.squareCrop();
    return {
      // The Laplacian moments come binned on the map's grid from the fused gray sweep shared with
      // sharpness (lib/core/pixel_stats.ts): equal to field.weightedLaplacianVar up to summation order.
      saliency_sharpness: weightedLaplacianVarOf(ctx.edgeSums, map),
      saliency_center_x: c?.x ?? null,
      saliency_center_y: c?.y ?? null,
      crop_x: crop.x,
      crop_y: crop.y,
      crop_width: crop.width,
      crop_height: crop.height,
    };
  },
};
