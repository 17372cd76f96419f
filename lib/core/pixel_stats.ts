/**
 * The per-pixel work of the pure heuristics, fused into two sweeps over an image so that each
 * pixel is read as few times as possible (the pure suite is memory- and loop-bound; decode is the
 * floor it is measured against):
 *
 * 1. {@link rgbSweep} reads the RGB bytes once and produces the OpenCV gray plane, a 256-bin gray
 *    histogram (exposure), the Chai–Ngan skin count (skin) and the colourfulness moments.
 * 2. {@link edgeSweep} reads the gray plane once and produces the Laplacian and Sobel sums
 *    (sharpness) and the Laplacian moments binned on the bilinear sample grid of a small map
 *    (saliency-weighted sharpness: any 64×64 map can weight them afterwards without another
 *    sweep, see {@link EdgeSums.grid1}).
 *
 * All sums that can be integers are integers (exact); the rest are doubles. Typed arrays only, no
 * per-pixel allocation. Heuristics read the results through `ImageContext` (computed once per
 * image), so each heuristic stays one file.
 *
 * @module
 */
import type { RgbImage } from "./image.ts";
import { linearTab } from "./resize.ts";
import { padReflect101 } from "./filters.ts";

/** Cr bounds of the Chai–Ngan skin rule (inclusive), OpenCV 8-bit YCrCb. */
export const SKIN_CR = [133, 173] as const;
/** Cb bounds of the Chai–Ngan skin rule (inclusive), OpenCV 8-bit YCrCb. */
export const SKIN_CB = [77, 127] as const;
const CR_LO = SKIN_CR[0],
  CR_SPAN = SKIN_CR[1] - SKIN_CR[0],
  CB_LO = SKIN_CB[0],
  CB_SPAN = SKIN_CB[1] - SKIN_CB[0];

/**
 * Cr = ((R − Y)·11682 + 2105344) >> 14 grows with R − Y, so `lo ≤ Cr ≤ hi` is the same test as
 * `uLo ≤ R − Y ≤ uHi` for the integer bounds found here once (likewise Cb with B − Y): the sweep
 * then skips two multiplies per pixel and still decides every pixel exactly as the rule does.
 */
function diffRange(mul: number, lo: number, hi: number): [number, number] {
  let uLo = Infinity, uHi = -Infinity;
  for (let u = -255; u <= 255; u++) {
    const v = (u * mul + 2105344) >> 14;
    if (v >= lo && v <= hi) {
      uLo = Math.min(uLo, u);
      uHi = Math.max(uHi, u);
    }
  }
  return [uLo, uHi - uLo];
}
const [RY_LO, RY_SPAN] = diffRange(11682, SKIN_CR[0], SKIN_CR[1]);
const [BY_LO, BY_SPAN] = diffRange(9241, SKIN_CB[0], SKIN_CB[1]);

/**
 * 1 when an 8-bit RGB pixel is skin-coloured (`133 ≤ Cr ≤ 173` and `77 ≤ Cb ≤ 127`, Cr and Cb in
 * OpenCV's 14-bit fixed point, `cv2.COLOR_RGB2YCrCb`), else 0. Branch-free: `(v − lo) >>> 0 ≤ span`
 * tests `lo ≤ v ≤ lo + span`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { skin01 } from "./pixel_stats.ts";
 * assert.deepEqual([skin01(224, 172, 140), skin01(20, 60, 200)], [1, 0]);
 * ```
 */
export function skin01(r: number, g: number, b: number): number {
  const y = (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14;
  const cr = ((r - y) * 11682 + 2105344) >> 14;
  const cb = ((b - y) * 9241 + 2105344) >> 14;
  return (((cr - CR_LO) >>> 0) <= CR_SPAN ? 1 : 0) & (((cb - CB_LO) >>> 0) <= CB_SPAN ? 1 : 0);
}

/** What {@link rgbSweep} computes. */
export interface RgbSums {
  /** OpenCV 8-bit luma, `(9798 R + 19235 G + 3735 B + 16384) >> 15`, row-major. */
  gray: Uint8Array;
  /** `histogram[v]` = pixels with gray level `v`. */
  histogram: Float64Array;
  /** Pixels passing the skin rule ({@link skin01}). */
  skinPixels: number;
  /** Σ(R − G) and Σ(R − G)². */
  rg: number;
  rg2: number;
  /** Σ(R + G − 2B) and Σ(R + G − 2B)² (twice the yellow–blue opponent, kept integer). */
  yb2x: number;
  yb2x2: number;
}

/**
 * One pass over the RGB bytes: gray plane, gray histogram, skin count and colourfulness moments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rgbSweep } from "./pixel_stats.ts";
 * const s = rgbSweep({ width: 2, height: 1, data: new Uint8Array([255, 0, 0, 224, 172, 140]) });
 * assert.deepEqual([s.gray[0], s.skinPixels, s.rg, s.histogram[76]], [76, 1, 255 + 52, 1]);
 * ```
 */
export function rgbSweep(img: RgbImage): RgbSums {
  const { width, height } = img;
  const d = img.data;
  if (d.length !== width * height * 3) {
    throw new RangeError(`image has ${d.length} bytes, expected ${width}×${height}×3`);
  }
  const gray = new Uint8Array(width * height);
  const hist = new Int32Array(256);
  let skinPixels = 0, rg = 0, rg2 = 0, yb = 0, yb2 = 0;
  // One loop reads each pixel once for every statistic (measured by CPU time under Deno 2.9 / V8:
  // ~5 ms per 1024² image against ~7 ms for separate loops per statistic, per row or per image).
  for (let y = 0; y < height; y++) {
    // Per-row sums stay small integers (int32 arithmetic in V8); totals are doubles.
    let sk = 0, a1 = 0, a2 = 0, c1 = 0, c2 = 0;
    let i = y * width, j = i * 3;
    for (const end = i + width; i < end; i++, j += 3) {
      const r = d[j], g = d[j + 1], b = d[j + 2];
      const v = (9798 * r + 19235 * g + 3735 * b + 16384) >> 15;
      gray[i] = v;
      hist[v]++;
      const l = (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14;
      sk += (((r - l - RY_LO) >>> 0) <= RY_SPAN ? 1 : 0) & (((b - l - BY_LO) >>> 0) <= BY_SPAN ? 1 : 0);
      const a = r - g, c = r + g - 2 * b;
      a1 += a;
      a2 += a * a;
      c1 += c;
      c2 += c * c;
    }
    skinPixels += sk;
    rg += a1;
    rg2 += a2;
    yb += c1;
    yb2 += c2;
  }
  return { gray, histogram: Float64Array.from(hist), skinPixels, rg, rg2, yb2x: yb, yb2x2: yb2 };
}

/** Side of the grid {@link edgeSweep} bins Laplacian moments on (the saliency map's size). */
export const GRID = 64;

/** What {@link edgeSweep} computes. */
export interface EdgeSums {
  /** ΣL and ΣL² of the 3×3 Laplacian `[[0,1,0],[1,-4,1],[0,1,0]]`, reflect-101 border (exact integers). */
  lapSum: number;
  lapSq: number;
  /** Σ(Gx² + Gy²) of the 3×3 Sobel derivatives, reflect-101 border (exact integer). */
  sobelSq: number;
  /**
   * ΣL binned on the {@link GRID}×{@link GRID} map grid: `grid1[r * GRID + c]` is the coefficient of
   * map sample `(r, c)` in `Σ w(x, y)·L(x, y)` when `w` is that map resized bilinearly to the image
   * (OpenCV `INTER_LINEAR`, half-pixel centres, border clamped; vertical weights rounded to float32
   * as OpenCV stores them, horizontal ones exact — they differ by < 1e-7). So for any map `m`,
   * `Σ w·L = Σ m ⊙ grid1` and `Σ w·L² = Σ m ⊙ grid2`.
   */
  grid1: Float64Array;
  /** ΣL² binned like {@link EdgeSums.grid1}. */
  grid2: Float64Array;
  /** Σw binned like {@link EdgeSums.grid1} (pure geometry: the weight each map sample gets). */
  grid0: Float64Array;
}

/**
 * One pass over a gray plane: Laplacian and Sobel sums, and Laplacian moments binned on the
 * bilinear sample grid of a {@link GRID}×{@link GRID} map (see {@link EdgeSums}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeSweep } from "./pixel_stats.ts";
 * // A dot: Laplacian −36 at the centre, 18 at its four neighbours (reflect-101 doubles them), 0 else.
 * const e = edgeSweep(new Uint8Array([0, 0, 0, 0, 9, 0, 0, 0, 0]), 3, 3);
 * assert.deepEqual([e.lapSum, e.lapSq], [-36 + 4 * 18, 36 * 36 + 4 * 18 * 18]);
 * ```
 */
export function edgeSweep(gray: Uint8Array, width: number, height: number): EdgeSums {
  if (gray.length !== width * height) {
    throw new RangeError(`gray plane has ${gray.length} samples, expected ${width}×${height}`);
  }
  const n = GRID;
  // Horizontally, image column x reads map columns c = ofs[x] and c + 1 with weights 1 − a and a,
  // where a = (x + 0.5)·n/width − 0.5 − c is linear in x, or 0 where OpenCV clamps at the borders.
  // So the columns split into pieces (same c, a linear or constant 0) over which the weighted sums
  // follow from two integer sums: Σ a·L = a(x0)·ΣL + (n/width)·Σ(x − x0)·L.
  const tx = linearTab(n, width, false);
  const scale = n / width;
  const pStart: number[] = [], pCol: number[] = [], pA0: number[] = [], pSlope: number[] = [];
  for (let x = 0; x < width; x++) {
    const c = tx.ofs[x], f = (x + 0.5) * scale - 0.5;
    const linear = tx.w1[x] !== 0 || (f >= c && f < c + 1 && c < n - 1 && f >= 0);
    const last = pStart.length - 1;
    if (last < 0 || pCol[last] !== c || (pSlope[last] !== 0) !== linear) {
      pStart.push(x);
      pCol.push(c);
      pA0.push(linear ? f - c : 0);
      pSlope.push(linear ? scale : 0);
    }
  }
  pStart.push(width);
  const pieces = pCol.length;
  const ty = linearTab(n, height, false);
  const grid1 = new Float64Array(n * n), grid2 = new Float64Array(n * n), grid0 = new Float64Array(n * n);
  // Weights of map columns c and c + 1 summed over each piece (geometry only), and per row the
  // weighted Laplacian sums by map column.
  const row0 = new Float64Array(n + 1), m1 = new Float64Array(n + 1), m2 = new Float64Array(n + 1);
  for (let k = 0; k < pieces; k++) {
    const len = pStart[k + 1] - pStart[k];
    const sb = pA0[k] * len + pSlope[k] * (len * (len - 1) / 2);
    row0[pCol[k]] += len - sb;
    row0[pCol[k] + 1] += sb;
  }
  const pw = width + 2;
  const p = padReflect101(gray, width, height);
  let lapSum = 0, lapSq = 0, sobelSq = 0;
  for (let y = 0; y < height; y++) {
    m1.fill(0);
    m2.fill(0);
    const rowStart = (y + 1) * pw + 1;
    let ss = 0;
    for (let k = 0; k < pieces; k++) {
      // t* = Σ of running prefix sums = Σ (len − dx)·L, so Σ dx·L = len·s − t without a multiply.
      let s1 = 0, t1 = 0, s2 = 0, t2 = 0;
      for (let i = rowStart + pStart[k], end = rowStart + pStart[k + 1]; i < end; i++) {
        const n0 = p[i - pw], s0 = p[i + pw], w0 = p[i - 1], e0 = p[i + 1];
        const nw = p[i - pw - 1], ne = p[i - pw + 1], sw = p[i + pw - 1], se = p[i + pw + 1];
        const l = n0 + s0 + w0 + e0 - 4 * p[i], l2 = l * l;
        s1 += l;
        t1 += s1;
        s2 += l2;
        t2 += s2;
        const gx = ne + 2 * e0 + se - nw - 2 * w0 - sw;
        const gy = sw + 2 * s0 + se - nw - 2 * n0 - ne;
        ss += gx * gx + gy * gy;
      }
      lapSum += s1;
      lapSq += s2;
      const a0 = pA0[k], sl = pSlope[k], c = pCol[k], len = pStart[k + 1] - pStart[k];
      const b1 = a0 * s1 + sl * (len * s1 - t1), b2 = a0 * s2 + sl * (len * s2 - t2);
      m1[c] += s1 - b1;
      m1[c + 1] += b1;
      m2[c] += s2 - b2;
      m2[c + 1] += b2;
    }
    sobelSq += ss;
    // Vertically, image row y reads map rows ofs[y] and ofs[y] + 1 (float32 weights, as OpenCV).
    const r0 = ty.ofs[y] * n, vb = ty.w1[y], va = vb === 0 ? 1 : Math.fround(1 - vb);
    const r1 = Math.min(ty.ofs[y] + 1, n - 1) * n;
    for (let c = 0; c < n; c++) {
      grid1[r0 + c] += va * m1[c];
      grid2[r0 + c] += va * m2[c];
      grid0[r0 + c] += va * row0[c];
    }
    if (vb !== 0) {
      for (let c = 0; c < n; c++) {
        grid1[r1 + c] += vb * m1[c];
        grid2[r1 + c] += vb * m2[c];
        grid0[r1 + c] += vb * row0[c];
      }
    }
  }
  return { lapSum, lapSq, sobelSq, grid1, grid2, grid0 };
}

/**
 * Variance of the Laplacian weighted by a {@link GRID}×{@link GRID} map resized bilinearly to the
 * image, from {@link edgeSweep}'s binned moments: `Σw·L²/Σw − (Σw·L/Σw)²`; `null` when the map has
 * no weight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeSweep, weightedLaplacianVarOf } from "./pixel_stats.ts";
 * const gray = new Uint8Array(20 * 10).map((_, i) => (i * 37) % 256);
 * const e = edgeSweep(gray, 20, 10);
 * const plain = e.lapSq / 200 - (e.lapSum / 200) ** 2;
 * assert.ok(Math.abs(weightedLaplacianVarOf(e, new Float64Array(64 * 64).fill(1))! - plain) < 1e-9 * plain);
 * ```
 */
export function weightedLaplacianVarOf(e: EdgeSums, map: ArrayLike<number>): number | null {
  let s = 0, sl = 0, sl2 = 0;
  for (let i = 0; i < GRID * GRID; i++) {
    const m = map[i];
    s += m * e.grid0[i];
    sl += m * e.grid1[i];
    sl2 += m * e.grid2[i];
  }
  if (!(s > 0)) return null;
  const mean = sl / s;
  return Math.max(0, sl2 / s - mean * mean);
}
