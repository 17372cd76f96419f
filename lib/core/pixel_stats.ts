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
import { align, kernels, markResident, type Resident, residentPlace, residentView } from "./pixel_kernels.ts";

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

/** Gray levels at or below this count as near-black (exposure's `dark_frac`). */
export const DARK_LEVEL = 15;
/** Gray levels at or above this count as near-white (exposure's `bright_frac`). */
export const BRIGHT_LEVEL = 240;

/** What {@link rgbSweep} computes. */
export interface RgbSums {
  /** OpenCV 8-bit luma, `(9798 R + 19235 G + 3735 B + 16384) >> 15`, row-major. */
  gray: Uint8Array;
  /** Σ gray. */
  graySum: number;
  /** Pixels with gray ≤ {@link DARK_LEVEL}. */
  darkPixels: number;
  /** Pixels with gray ≥ {@link BRIGHT_LEVEL}. */
  brightPixels: number;
  /** `histogram[v]` = pixels with gray level `v` (counted from `gray` when first read). */
  readonly histogram: Float64Array;
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
 * One pass over the RGB bytes: gray plane, gray histogram, skin count and colourfulness moments,
 * in plain JS: the reference {@link rgbSweep} (WebAssembly SIMD) must equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rgbSweepJs } from "./pixel_stats.ts";
 * const s = rgbSweepJs({ width: 2, height: 1, data: new Uint8Array([255, 0, 0, 224, 172, 140]) });
 * assert.deepEqual([s.gray[0], s.skinPixels, s.rg, s.histogram[76]], [76, 1, 255 + 52, 1]);
 * ```
 */
export function rgbSweepJs(img: RgbImage): RgbSums {
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
  let graySum = 0, darkPixels = 0, brightPixels = 0;
  for (let v = 0; v < 256; v++) {
    graySum += v * hist[v];
    if (v <= DARK_LEVEL) darkPixels += hist[v];
    if (v >= BRIGHT_LEVEL) brightPixels += hist[v];
  }
  return {
    gray,
    graySum,
    darkPixels,
    brightPixels,
    histogram: Float64Array.from(hist),
    skinPixels,
    rg,
    rg2,
    yb2x: yb,
    yb2x2: yb2,
  };
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

/** The column pieces and row weights of {@link edgeSweep}'s grid binning (geometry only). */
interface GridGeometry {
  /** Piece k covers columns pStart[k] ≤ x < pStart[k + 1], reads map column pCol[k] and pCol[k] + 1. */
  pStart: Int32Array;
  pCol: Int32Array;
  /** Weight of map column pCol[k] + 1 at the piece's first column, and its growth per column. */
  pA0: Float64Array;
  pSlope: Float64Array;
  pieces: number;
  /** Longest piece, in columns. */
  longest: number;
  /** Weight of each map column summed over an image row. */
  row0: Float64Array;
  /** OpenCV's vertical table: image row y reads map rows ofs[y] and ofs[y] + 1 with weight w1[y]. */
  ty: { ofs: Int32Array; w1: Float64Array };
}

let lastGeometry: { width: number; height: number; g: GridGeometry } | undefined;

function gridGeometry(width: number, height: number): GridGeometry {
  if (lastGeometry && lastGeometry.width === width && lastGeometry.height === height) return lastGeometry.g;
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
  // Weights of map columns c and c + 1 summed over each piece (geometry only).
  const row0 = new Float64Array(n + 1);
  let longest = 0;
  for (let k = 0; k < pieces; k++) {
    const len = pStart[k + 1] - pStart[k];
    longest = Math.max(longest, len);
    const sb = pA0[k] * len + pSlope[k] * (len * (len - 1) / 2);
    row0[pCol[k]] += len - sb;
    row0[pCol[k] + 1] += sb;
  }
  const g = {
    pStart: Int32Array.from(pStart),
    pCol: Int32Array.from(pCol),
    pA0: Float64Array.from(pA0),
    pSlope: Float64Array.from(pSlope),
    pieces,
    longest,
    row0,
    ty,
  };
  lastGeometry = { width, height, g };
  return g;
}

/**
 * One pass over a gray plane: Laplacian and Sobel sums, and Laplacian moments binned on the
 * bilinear sample grid of a {@link GRID}×{@link GRID} map (see {@link EdgeSums}), in plain JS: the
 * reference {@link edgeSweep} (WebAssembly SIMD) must equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeSweepJs } from "./pixel_stats.ts";
 * // A dot: Laplacian −36 at the centre, 18 at its four neighbours (reflect-101 doubles them), 0 else.
 * const e = edgeSweepJs(new Uint8Array([0, 0, 0, 0, 9, 0, 0, 0, 0]), 3, 3);
 * assert.deepEqual([e.lapSum, e.lapSq], [-36 + 4 * 18, 36 * 36 + 4 * 18 * 18]);
 * ```
 */
export function edgeSweepJs(gray: Uint8Array, width: number, height: number): EdgeSums {
  if (gray.length !== width * height) {
    throw new RangeError(`gray plane has ${gray.length} samples, expected ${width}×${height}`);
  }
  const n = GRID;
  const { pStart, pCol, pA0, pSlope, pieces, row0, ty } = gridGeometry(width, height);
  const grid1 = new Float64Array(n * n), grid2 = new Float64Array(n * n), grid0 = new Float64Array(n * n);
  const m1 = new Float64Array(n + 1), m2 = new Float64Array(n + 1);
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

/** Pixels per chunk of {@link rgbSweep} (a multiple of 8: 48 KiB of RGB, in cache while swept). */
export const RGB_CHUNK = 16384;

/**
 * One pass over the RGB bytes: gray plane, gray sum and dark/bright counts, skin count and
 * colourfulness moments (WebAssembly SIMD, `pixel_kernels.wat`: 8 pixels per step; identical to {@link rgbSweepJs}).
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
  const n = width * height;
  if (img.data.length !== n * 3) {
    throw new RangeError(`image has ${img.data.length} bytes, expected ${width}×${height}×3`);
  }
  // The RGB bytes go in by chunks of RGB_CHUNK pixels (a multiple of 8, so the kernel's 8-pixel
  // steps fall where they would in one call), each swept while it is still in cache; the chunks'
  // integer sums add up exactly.
  const chunk = Math.min(n, RGB_CHUNK);
  const grayAt = align(3 * chunk + 16), outAt = align(grayAt + n + 16);
  const k = kernels(outAt + 64);
  const mem = new Uint8Array(k.memory.buffer);
  const sums64 = new BigInt64Array(k.memory.buffer, outAt, 8);
  const out = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i += chunk) {
    const len = Math.min(chunk, n - i);
    mem.set(img.data.subarray(3 * i, 3 * (i + len)), 0);
    k.rgb(0, len, grayAt + i, outAt, RY_LO, RY_SPAN, BY_LO, BY_SPAN, DARK_LEVEL, BRIGHT_LEVEL);
    for (let j = 0; j < 8; j++) out[j] += Number(sums64[j]);
  }
  let histogram: Float64Array | undefined, gray: Uint8Array | undefined;
  const sums: RgbSums = {
    // Copied out of kernel memory when first read (the pure suite reads it there, see grayPlane);
    // an image whose bytes were overwritten since is swept again.
    get gray() {
      if (!gray) {
        const view = residentView(sums);
        if (view) {
          // A fresh array filled by set(): TypedArray#slice of WebAssembly memory took ≈ 3 ms per
          // 1024² plane under Deno 2.9 (V8), set() ≈ 0.1 ms.
          gray = new Uint8Array(n);
          gray.set(view);
          place.copy = gray;
        } else gray = rgbSweep(img).gray;
      }
      return gray;
    },
    graySum: out[5],
    darkPixels: out[6],
    brightPixels: out[7],
    get histogram() {
      if (!histogram) {
        const g = this.gray;
        histogram = new Float64Array(256);
        for (let i = 0; i < n; i++) histogram[g[i]]++;
      }
      return histogram;
    },
    skinPixels: out[0],
    rg: out[1],
    rg2: out[2],
    yb2x: out[3],
    yb2x2: out[4],
  };
  // The edge sweep, the saliency thumbnail and pHash's block sums read the gray plane where it is.
  const place: Resident = { owner: sums, at: grayAt, length: n, k };
  markResident(place);
  return sums;
}

/**
 * The gray plane of an {@link rgbSweep} result for reading at once: a view of kernel memory while
 * the sweep's bytes are still there (no copy), else its copy. Valid only until the next kernel
 * call: keep nothing of it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grayPlane, rgbSweep } from "./pixel_stats.ts";
 * const s = rgbSweep({ width: 2, height: 1, data: new Uint8Array([255, 0, 0, 224, 172, 140]) });
 * assert.deepEqual([...grayPlane(s)], [...s.gray]);
 * ```
 */
export function grayPlane(sums: RgbSums): Uint8Array {
  return residentView(sums) ?? sums.gray;
}

/**
 * One pass over a gray plane: Laplacian and Sobel sums, and Laplacian moments binned on the
 * bilinear sample grid of a {@link GRID}×{@link GRID} map (see {@link EdgeSums}). WebAssembly SIMD
 * (`pixel_kernels.wat`: the 3×3 stencils 8 pixels per step, reflect-101 borders without a padded
 * copy); identical to {@link edgeSweepJs}, which it falls back to for images over 128,000 pixels
 * wide.
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
  const geo = gridGeometry(width, height);
  // The kernel keeps a piece's running sums in 32 bits: exact up to 2,000 columns a piece.
  if (geo.longest > 2000) return edgeSweepJs(gray, width, height);
  const n = GRID, np = geo.pieces, g2 = n * n * 8;
  // The gray plane is read where the RGB sweep left it when still there, else copied to 0.
  const place = residentPlace(gray);
  const src = place?.at ?? 0;
  const lrow = align(src + width * height + 16);
  const pstart = align(lrow + 2 * width + 16), pcol = align(pstart + 4 * (np + 1));
  const pa0 = align(pcol + 4 * np), pslope = align(pa0 + 8 * np);
  const row0 = align(pslope + 8 * np), m1 = align(row0 + 8 * (n + 1)), m2 = align(m1 + 8 * (n + 1));
  const vr0 = align(m2 + 8 * (n + 1)), vr1 = align(vr0 + 4 * height);
  const va = align(vr1 + 4 * height), vb = align(va + 8 * height);
  const grid1 = align(vb + 8 * height), grid2 = grid1 + g2, grid0 = grid2 + g2, out = grid0 + g2;
  const k = kernels(out + 32, place?.k);
  const buf = k.memory.buffer;
  if (place) markResident(place);
  else new Uint8Array(buf).set(gray, 0);
  new Int32Array(buf, pstart, np + 1).set(geo.pStart);
  new Int32Array(buf, pcol, np).set(geo.pCol);
  new Float64Array(buf, pa0, np).set(geo.pA0);
  new Float64Array(buf, pslope, np).set(geo.pSlope);
  new Float64Array(buf, row0, n + 1).set(geo.row0);
  const r0 = new Int32Array(buf, vr0, height), r1 = new Int32Array(buf, vr1, height);
  const wa = new Float64Array(buf, va, height), wb = new Float64Array(buf, vb, height);
  for (let y = 0; y < height; y++) {
    // Image row y reads map rows ofs[y] and ofs[y] + 1 (float32 weights, as OpenCV).
    const o = geo.ty.ofs[y], b = geo.ty.w1[y];
    r0[y] = o * n;
    r1[y] = Math.min(o + 1, n - 1) * n;
    wa[y] = b === 0 ? 1 : Math.fround(1 - b);
    wb[y] = b;
  }
  new Uint8Array(buf, grid1, 3 * g2).fill(0);
  k.edge(
    src,
    width,
    height,
    lrow,
    pstart,
    pcol,
    pa0,
    pslope,
    np,
    row0,
    m1,
    m2,
    n,
    vr0,
    vr1,
    va,
    vb,
    grid1,
    grid2,
    grid0,
    out,
  );
  const sums = new BigInt64Array(buf, out, 3);
  return {
    lapSum: Number(sums[0]),
    lapSq: Number(sums[1]),
    sobelSq: Number(sums[2]),
    grid1: copyOut(buf, grid1, n * n),
    grid2: copyOut(buf, grid2, n * n),
    grid0: copyOut(buf, grid0, n * n),
  };
}

/** `length` doubles at byte `offset` of `buf`, copied (by set(): faster than slice, see {@link rgbSweep}). */
function copyOut(buf: ArrayBufferLike, offset: number, length: number): Float64Array {
  const a = new Float64Array(length);
  a.set(new Float64Array(buf, offset, length));
  return a;
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
