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
   * (OpenCV `INTER_LINEAR`, half-pixel centres, border clamped; the weights exact, where OpenCV
   * rounds them to float32 — they differ by < 1e-7). So for any map `m`, `Σ w·L = Σ m ⊙ grid1` and
   * `Σ w·L² = Σ m ⊙ grid2`.
   */
  grid1: Float64Array;
  /** ΣL² binned like {@link EdgeSums.grid1}. */
  grid2: Float64Array;
  /**
   * Σw binned like {@link EdgeSums.grid1} (pure geometry: the weight each map sample gets); one
   * array shared by every image of the same size: read it, never write it.
   */
  grid0: Float64Array;
}

/**
 * How the bilinear weights of a {@link GRID}-sample axis resized to `size` pixels split that axis
 * into pieces: piece k covers pixels start[k] ≤ x < start[k + 1], which read map samples map[k]
 * and map[k] + 1, the latter with weight a0[k] + slope[k]·(x − start[k]) (the former 1 − that).
 */
interface Pieces {
  start: Int32Array;
  map: Int32Array;
  a0: Float64Array;
  slope: Float64Array;
  count: number;
  /** Longest piece, in pixels. */
  longest: number;
}

function axisPieces(size: number): Pieces {
  const n = GRID;
  // Pixel x reads map samples c = ofs[x] and c + 1 with weights 1 − a and a, where
  // a = (x + 0.5)·n/size − 0.5 − c is linear in x, or 0 where OpenCV clamps at the borders.
  const t = linearTab(n, size, false);
  const scale = n / size;
  const start: number[] = [], map: number[] = [], a0: number[] = [], slope: number[] = [];
  for (let x = 0; x < size; x++) {
    const c = t.ofs[x], f = (x + 0.5) * scale - 0.5;
    const linear = t.w1[x] !== 0 || (f >= c && f < c + 1 && c < n - 1 && f >= 0);
    const last = start.length - 1;
    if (last < 0 || map[last] !== c || (slope[last] !== 0) !== linear) {
      start.push(x);
      map.push(c);
      a0.push(linear ? f - c : 0);
      slope.push(linear ? scale : 0);
    }
  }
  start.push(size);
  let longest = 0;
  for (let k = 0; k < map.length; k++) longest = Math.max(longest, start[k + 1] - start[k]);
  return {
    start: Int32Array.from(start),
    map: Int32Array.from(map),
    a0: Float64Array.from(a0),
    slope: Float64Array.from(slope),
    count: map.length,
    longest,
  };
}

/** The pieces of both axes of an image size, and its {@link EdgeSums.grid0} (geometry only). */
interface GridGeometry {
  px: Pieces;
  py: Pieces;
  grid0: Float64Array;
}

let lastGeometry: { width: number; height: number; g: GridGeometry } | undefined;

function gridGeometry(width: number, height: number): GridGeometry {
  if (lastGeometry && lastGeometry.width === width && lastGeometry.height === height) return lastGeometry.g;
  const px = axisPieces(width), py = axisPieces(height);
  // Σw per sample: the block moments of L ≡ 1.
  const ones = new Float64Array(8 * px.count * py.count);
  for (let j = 0; j < py.count; j++) {
    const nr = py.start[j + 1] - py.start[j];
    for (let k = 0; k < px.count; k++) {
      const len = px.start[k + 1] - px.start[k], o = 8 * (j * px.count + k);
      ones[o] = len * nr;
      ones[o + 1] = nr * (len * (len - 1) / 2);
      ones[o + 2] = len * (nr * (nr - 1) / 2);
      ones[o + 3] = (len * (len - 1) / 2) * (nr * (nr - 1) / 2);
    }
  }
  const g = { px, py, grid0: new Float64Array(GRID * GRID) };
  binMoments(ones, g, 0, g.grid0);
  lastGeometry = { width, height, g };
  return g;
}

/**
 * Adds the weighted sums of each block (vertical piece j × horizontal piece k) to the map samples
 * it reads: with moments S = ΣL, DX = Σdx·L, DY = Σdy·L, DXY = Σdx·dy·L of the block (at
 * `moments[8·(j·np + k) + at + 0…3]`) and weights a = a0 + slope·dx, b = b0 + slope·dy of samples
 * c + 1 and r + 1, Σa·L, Σb·L and Σa·b·L follow without another look at the pixels.
 */
function binMoments(moments: Float64Array, g: GridGeometry, at: number, grid: Float64Array): void {
  const n = GRID, { px, py } = g;
  for (let j = 0; j < py.count; j++) {
    const r0 = py.map[j] * n, r1 = Math.min(py.map[j] + 1, n - 1) * n, b0 = py.a0[j], bs = py.slope[j];
    for (let k = 0; k < px.count; k++) {
      const o = 8 * (j * px.count + k) + at;
      const s = moments[o], dx = moments[o + 1], dy = moments[o + 2], dxy = moments[o + 3];
      const c0 = px.map[k], c1 = Math.min(c0 + 1, n - 1), a0 = px.a0[k], as = px.slope[k];
      const sa = a0 * s + as * dx, sb = b0 * s + bs * dy;
      const sab = a0 * (b0 * s + bs * dy) + as * (b0 * dx + bs * dxy);
      grid[r0 + c0] += s - sa - sb + sab;
      grid[r0 + c1] += sa - sab;
      grid[r1 + c0] += sb - sab;
      grid[r1 + c1] += sab;
    }
  }
}

/** The three grids of {@link EdgeSums} from block moments (see {@link binMoments}). */
function gridsOf(moments: Float64Array, g: GridGeometry): Pick<EdgeSums, "grid0" | "grid1" | "grid2"> {
  const grid1 = new Float64Array(GRID * GRID), grid2 = new Float64Array(GRID * GRID);
  binMoments(moments, g, 0, grid1);
  binMoments(moments, g, 4, grid2);
  return { grid1, grid2, grid0: g.grid0 };
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
  const g = gridGeometry(width, height), { px, py } = g;
  // Per block (vertical piece j × horizontal piece k): ΣL, Σdx·L, Σdy·L, Σdx·dy·L, then the same
  // for L² (dx, dy from the block's corner): exact integers while below 2^53.
  const moments = new Float64Array(8 * px.count * py.count);
  const pw = width + 2;
  const p = padReflect101(gray, width, height);
  let lapSum = 0, lapSq = 0, sobelSq = 0;
  for (let j = 0; j < py.count; j++) {
    for (let y = py.start[j]; y < py.start[j + 1]; y++) {
      const dy = y - py.start[j], rowStart = (y + 1) * pw + 1;
      let ss = 0;
      for (let k = 0; k < px.count; k++) {
        const x0 = px.start[k];
        let s1 = 0, d1 = 0, s2 = 0, d2 = 0;
        for (let x = x0, i = rowStart + x0; x < px.start[k + 1]; x++, i++) {
          const n0 = p[i - pw], s0 = p[i + pw], w0 = p[i - 1], e0 = p[i + 1];
          const nw = p[i - pw - 1], ne = p[i - pw + 1], sw = p[i + pw - 1], se = p[i + pw + 1];
          const l = n0 + s0 + w0 + e0 - 4 * p[i], l2 = l * l;
          s1 += l;
          d1 += (x - x0) * l;
          s2 += l2;
          d2 += (x - x0) * l2;
          const gx = ne + 2 * e0 + se - nw - 2 * w0 - sw;
          const gy = sw + 2 * s0 + se - nw - 2 * n0 - ne;
          ss += gx * gx + gy * gy;
        }
        lapSum += s1;
        lapSq += s2;
        const o = 8 * (j * px.count + k);
        moments[o] += s1;
        moments[o + 1] += d1;
        moments[o + 2] += dy * s1;
        moments[o + 3] += dy * d1;
        moments[o + 4] += s2;
        moments[o + 5] += d2;
        moments[o + 6] += dy * s2;
        moments[o + 7] += dy * d2;
      }
      sobelSq += ss;
    }
  }
  return { lapSum, lapSq, sobelSq, ...gridsOf(moments, g) };
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
 * copy, and the moments of each block of pixels that the map's bilinear weights are linear on
 * gathered in integers per column, then per block); identical to {@link edgeSweepJs}, which it
 * falls back to for images over 128,000 pixels wide or high.
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
  const g = gridGeometry(width, height), { px, py } = g;
  // The kernel's block sums are i64: exact for blocks up to 2,000 × 2,000 pixels.
  if (px.longest > 2000 || py.longest > 2000) return edgeSweepJs(gray, width, height);
  const np = px.count, nv = py.count, wp = ((width + 7) & ~7) + 8;
  // The gray plane is read where the RGB sweep left it when still there, else copied to 0.
  const place = residentPlace(gray);
  const src = place?.at ?? 0;
  const lrow = align(src + width * height + 16), cols = align(lrow + 2 * wp);
  const pstart = align(cols + 16 * wp), vstart = align(pstart + 4 * (np + 1));
  const acc = align(vstart + 4 * (nv + 1)), mom = acc + 64 * np, out = mom + 64 * np * nv;
  const k = kernels(out + 32, place?.k);
  const buf = k.memory.buffer;
  if (place) markResident(place);
  else new Uint8Array(buf).set(gray, 0);
  new Int32Array(buf, pstart, np + 1).set(px.start);
  new Int32Array(buf, vstart, nv + 1).set(py.start);
  k.edge(src, width, height, lrow, cols, pstart, np, vstart, nv, acc, mom, out);
  const sums = new BigInt64Array(buf, out, 3);
  return {
    lapSum: Number(sums[0]),
    lapSq: Number(sums[1]),
    sobelSq: Number(sums[2]),
    ...gridsOf(new Float64Array(buf, mom, 8 * np * nv), g),
  };
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
