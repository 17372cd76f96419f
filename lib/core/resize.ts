/**
 * Resizing of one-channel planes (a gray image, a saliency map) with OpenCV's conventions, so
 * numbers computed here can be compared with `cv2.resize` output.
 *
 * - {@link resizeBilinear}: `cv2.INTER_LINEAR_EXACT` for 8-bit planes (bit-exact: 8-bit fixed-point
 *   weights, as OpenCV's `resize_bitExact`), `cv2.INTER_LINEAR` for `Float64Array` planes (double
 *   arithmetic, weights rounded to float32 as OpenCV stores them).
 * - {@link resizeArea}: `cv2.INTER_AREA` — box averaging over the exact source area each output
 *   pixel covers, for any (also non-integer) shrink factor; when either side grows, OpenCV's
 *   INTER_AREA "upscale" weights (a bilinear variant) are used, as OpenCV does.
 *
 * Both use the half-pixel-centre convention: output pixel `dx` samples source coordinate
 * `(dx + 0.5) * srcW / dstW - 0.5`, and the border is replicated.
 *
 * @module
 */
import { blockSums } from "./pixel_kernels.ts";

/** A single-channel plane: 8-bit samples or doubles, row-major. */
export type Plane = Uint8Array | Float64Array;

function checkSizes(src: Plane, width: number, height: number, dstWidth: number, dstHeight: number): void {
  for (
    const [k, v] of [["width", width], ["height", height], ["dstWidth", dstWidth], ["dstHeight", dstHeight]]
  ) {
    if (!Number.isInteger(v) || (v as number) < 1) {
      throw new RangeError(`resize: ${k} must be a positive integer, got ${v}`);
    }
  }
  if (src.length !== width * height) {
    throw new RangeError(`resize: plane has ${src.length} samples, expected ${width}×${height}`);
  }
}

/** Round half to even, as `cvRound` (`lrint`) does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function toU8(v: number): number {
  const r = roundHalfEven(v);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/** Source offsets and 8-bit fixed-point weights (sum 256) of `interpolationLinear` in OpenCV's bit-exact resize. */
function exactLinearTab(srcSize: number, dstSize: number): { ofs: Int32Array; w1: Int32Array } {
  const scale = 1 / (dstSize / srcSize);
  const ofs = new Int32Array(dstSize);
  const w1 = new Int32Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    const f = scale * (d + 0.5) - 0.5;
    const i = Math.floor(f);
    if (i >= 0 && srcSize > 1 && i < srcSize - 1) {
      ofs[d] = i;
      w1[d] = roundHalfEven((f - i) * 256);
    } else {
      ofs[d] = i < 0 || srcSize === 1 ? 0 : srcSize - 1;
      w1[d] = 0;
    }
  }
  return { ofs, w1 };
}

/** Source offsets and float32 weights of OpenCV's INTER_LINEAR (or INTER_AREA upscale) tables. */
/**
 * OpenCV's bilinear coefficient table for one axis of a floating-point resize: destination index
 * `d` reads source `ofs[d]` and `ofs[d] + 1` with weights `1 − w1[d]` and `w1[d]` (float32, as
 * `cv2.resize` computes them); `area` gives the INTER_AREA enlarging variant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linearTab } from "./resize.ts";
 * const t = linearTab(2, 4, false);
 * assert.deepEqual([...t.ofs], [0, 0, 0, 1]);
 * assert.deepEqual([...t.w1], [0, 0.25, 0.75, 0]);
 * ```
 */
export function linearTab(
  srcSize: number,
  dstSize: number,
  area: boolean,
): { ofs: Int32Array; w1: Float64Array } {
  const invScale = dstSize / srcSize;
  const scale = 1 / invScale;
  const ofs = new Int32Array(dstSize);
  const w1 = new Float64Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    let s: number, f: number;
    if (!area) {
      f = Math.fround((d + 0.5) * scale - 0.5);
      s = Math.floor(f);
      f = Math.fround(f - s);
    } else {
      s = Math.floor(d * scale);
      f = Math.fround(d + 1 - (s + 1) * invScale);
      f = f <= 0 ? 0 : Math.fround(f - Math.floor(f));
    }
    if (s < 0) {
      f = 0;
      s = 0;
    }
    if (s >= srcSize - 1) {
      f = 0;
      s = srcSize - 1;
    }
    ofs[d] = s;
    w1[d] = f;
  }
  return { ofs, w1 };
}

function separableLinear(
  src: Plane,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
  area: boolean,
): Float64Array {
  const tx = linearTab(width, dstWidth, area);
  const ty = linearTab(height, dstHeight, area);
  const rows = new Float64Array(height * dstWidth);
  for (let y = 0; y < height; y++) {
    const r = y * width, o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) {
      const s = tx.ofs[x], a1 = tx.w1[x];
      const a0 = Math.fround(1 - a1);
      rows[o + x] = a1 === 0 ? src[r + s] : src[r + s] * a0 + src[r + s + 1] * a1;
    }
  }
  const out = new Float64Array(dstWidth * dstHeight);
  for (let y = 0; y < dstHeight; y++) {
    const s = ty.ofs[y], b1 = ty.w1[y];
    const b0 = Math.fround(1 - b1);
    const r0 = s * dstWidth, r1 = Math.min(s + 1, height - 1) * dstWidth, o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) {
      out[o + x] = b1 === 0 ? rows[r0 + x] : rows[r0 + x] * b0 + rows[r1 + x] * b1;
    }
  }
  return out;
}

/**
 * Bilinear resize with OpenCV's half-pixel-centre convention and replicated border.
 *
 * An 8-bit plane gives an 8-bit plane identical to `cv2.resize(src, (dstWidth, dstHeight),
 * interpolation=cv2.INTER_LINEAR_EXACT)` (OpenCV's plain INTER_LINEAR on 8-bit data uses 11-bit
 * weights and may differ from it by one level). A `Float64Array` gives doubles, as `cv2.resize` of
 * a `float64` array with `INTER_LINEAR`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeBilinear } from "./resize.ts";
 * const up = resizeBilinear(new Float64Array([0, 4]), 2, 1, 4, 1);
 * assert.deepEqual([...up], [0, 1, 3, 4]);
 * const down = resizeBilinear(new Uint8Array([0, 10, 20, 30]), 4, 1, 2, 1);
 * assert.deepEqual([...down], [5, 25]);
 * ```
 */
export function resizeBilinear(
  src: Uint8Array,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
): Uint8Array;
export function resizeBilinear(
  src: Float64Array,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
): Float64Array;
export function resizeBilinear(
  src: Plane,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
): Plane;
export function resizeBilinear(
  src: Plane,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
): Plane {
  checkSizes(src, width, height, dstWidth, dstHeight);
  if (!(src instanceof Uint8Array)) return separableLinear(src, width, height, dstWidth, dstHeight, false);
  // Bit-exact path: horizontal pass keeps 8 fractional bits (exact integers), vertical pass 16,
  // then rounds half up, as OpenCV's ufixedpoint16/ufixedpoint32 arithmetic.
  const tx = exactLinearTab(width, dstWidth);
  const ty = exactLinearTab(height, dstHeight);
  // Only the source rows the vertical pass reads are resized horizontally (a 1024-row plane shrunk
  // to 64 rows reads 128 of them).
  // slot[y]: where source row y's resized copy is kept (−1: not read), so only those rows take memory.
  const slot = scratchI32(0, height).fill(-1);
  let used = 0;
  for (let y = 0; y < dstHeight; y++) {
    if (slot[ty.ofs[y]] < 0) slot[ty.ofs[y]] = used++;
    const y1 = Math.min(ty.ofs[y] + 1, height - 1);
    if (ty.w1[y] !== 0 && slot[y1] < 0) slot[y1] = used++;
  }
  const rows = scratchI32(1, used * dstWidth);
  for (let y = 0; y < height; y++) {
    if (slot[y] < 0) continue;
    const r = y * width, o = slot[y] * dstWidth;
    for (let x = 0; x < dstWidth; x++) {
      const s = r + tx.ofs[x], a1 = tx.w1[x];
      rows[o + x] = a1 === 0 ? src[s] << 8 : (256 - a1) * src[s] + a1 * src[s + 1];
    }
  }
  const out = new Uint8Array(dstWidth * dstHeight);
  for (let y = 0; y < dstHeight; y++) {
    const b1 = ty.w1[y], b0 = 256 - b1;
    // A row read with weight 0 may have no copy (slot −1): point it at row 0's, times 0 all the same.
    const r0 = slot[ty.ofs[y]] * dstWidth,
      r1 = Math.max(0, slot[Math.min(ty.ofs[y] + 1, height - 1)]) * dstWidth;
    const o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) {
      const v = (b0 * rows[r0 + x] + b1 * rows[r1 + x] + 32768) >>> 16;
      out[o + x] = v > 255 ? 255 : v;
    }
  }
  return out;
}

/**
 * Scratch `Int32Array` number `k` of `length` (a view), kept between calls up to 256 Ki entries
 * (1 MiB; longer ones are made fresh): nothing that holds it outlives the synchronous call that
 * asked for it. Saves the saliency thumbnail a fresh zeroed array per image.
 */
const SCRATCH_I32: Int32Array[] = [];
function scratchI32(k: number, length: number): Int32Array {
  if (length > 1 << 18) return new Int32Array(length);
  if (!SCRATCH_I32[k] || SCRATCH_I32[k].length < length) {
    SCRATCH_I32[k] = new Int32Array(Math.max(length, 4096));
  }
  return SCRATCH_I32[k].subarray(0, length);
}

/** Options of {@link resizeArea}. */
export interface AreaOptions {
  /** Give 8-bit input a floating-point result, as if it had been converted to doubles first. */
  float?: boolean;
}

/** OpenCV's `computeResizeAreaTab`: for each destination index, (source index, weight) pairs. */
function areaTab(srcSize: number, dstSize: number): { start: Int32Array; idx: number[]; w: number[] } {
  const scale = 1 / (dstSize / srcSize);
  const start = new Int32Array(dstSize + 1);
  const idx: number[] = [];
  const w: number[] = [];
  for (let d = 0; d < dstSize; d++) {
    start[d] = idx.length;
    const f1 = d * scale, f2 = f1 + scale;
    const cell = Math.min(scale, srcSize - f1);
    const s2 = Math.min(Math.floor(f2), srcSize - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    if (s1 - f1 > 1e-3) {
      idx.push(s1 - 1);
      w.push(Math.fround((s1 - f1) / cell));
    }
    for (let s = s1; s < s2; s++) {
      idx.push(s);
      w.push(Math.fround(1 / cell));
    }
    if (f2 - s2 > 1e-3) {
      idx.push(s2);
      w.push(Math.fround(Math.min(Math.min(f2 - s2, 1), cell) / cell));
    }
  }
  start[dstSize] = idx.length;
  return { start, idx, w };
}

/**
 * Area-averaging resize, `cv2.resize(src, (dstWidth, dstHeight), interpolation=cv2.INTER_AREA)`:
 * each output pixel is the mean of the source area it covers, partial pixels weighted by the
 * covered fraction, so shrink factors need not be integers (e.g. 640 → 16 or 5 → 3). When either
 * side grows, OpenCV's INTER_AREA upscale weights are used instead, as OpenCV does.
 *
 * Integer shrink factors take OpenCV's fast path (block sum times float32 `1 / area`; an 8-bit 2×
 * shrink rounds half up). Other shrinks of 8-bit planes are accumulated in float32 in OpenCV's order
 * and rounded half to even, as OpenCV does. 8-bit upscales may differ from OpenCV by one level (it
 * uses 11-bit fixed-point weights there). `Float64Array` planes give doubles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeArea } from "./resize.ts";
 * const src = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]); // 4×2
 * assert.deepEqual([...resizeArea(src, 4, 2, 2, 1)], [3.5, 5.5]);
 * assert.deepEqual([...resizeArea(src, 4, 2, 3, 1)], [3.25, 4.5, 5.75]); // factor 4/3
 * assert.deepEqual([...resizeArea(new Uint8Array([0, 3, 6, 9]), 4, 1, 2, 1)], [2, 8]);
 * ```
 */
export function resizeArea(
  src: Uint8Array,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
  options?: { float?: false },
): Uint8Array;
export function resizeArea(
  src: Plane,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
  options: { float: true },
): Float64Array;
export function resizeArea(
  src: Float64Array,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
): Float64Array;
export function resizeArea(
  src: Plane,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
  options?: AreaOptions,
): Plane;
export function resizeArea(
  src: Plane,
  width: number,
  height: number,
  dstWidth: number,
  dstHeight: number,
  options: AreaOptions = {},
): Plane {
  checkSizes(src, width, height, dstWidth, dstHeight);
  // `float`: treat 8-bit input as doubles (no rounding, double accumulation), without copying it.
  const u8 = src instanceof Uint8Array && !options.float;
  if (dstWidth > width || dstHeight > height) {
    const out = separableLinear(src, width, height, dstWidth, dstHeight, true);
    return u8 ? Uint8Array.from(out, toU8) : out;
  }
  const sx = width / dstWidth, sy = height / dstHeight;
  if (Number.isInteger(sx) && Number.isInteger(sy)) {
    // OpenCV's fast path for integer factors: block sum times float32(1 / area).
    const out = u8 ? new Uint8Array(dstWidth * dstHeight) : new Float64Array(dstWidth * dstHeight);
    const scale = Math.fround(1 / (sx * sy));
    // 8-bit blocks 16·k wide (e.g. pHash's 1024² → 32²): summed in WebAssembly SIMD, same integers.
    const sums = src instanceof Uint8Array ? blockSums(src, width, height, sx, sy) : null;
    for (let y = 0; y < dstHeight; y++) {
      for (let x = 0; x < dstWidth; x++) {
        let sum = 0;
        if (sums) sum = sums[y * dstWidth + x];
        else {
          for (let j = 0; j < sy; j++) {
            const r = (y * sy + j) * width + x * sx;
            for (let i = 0; i < sx; i++) sum += src[r + i];
          }
        }
        out[y * dstWidth + x] = !u8
          ? sum * scale
          : sx === 2 && sy === 2
          ? (sum + 2) >> 2
          : toU8(Math.fround(sum * scale));
      }
    }
    return out;
  }
  const tx = areaTab(width, dstWidth);
  const ty = areaTab(height, dstHeight);
  // OpenCV accumulates 8-bit planes in float32 and doubles in double, in this order.
  const f = u8 ? Math.fround : (v: number) => v;
  const rows = new Float64Array(height * dstWidth);
  for (let y = 0; y < height; y++) {
    const r = y * width, o = y * dstWidth;
    for (let x = 0; x < dstWidth; x++) {
      let s = 0;
      for (let k = tx.start[x]; k < tx.start[x + 1]; k++) s = f(s + f(src[r + tx.idx[k]] * tx.w[k]));
      rows[o + x] = s;
    }
  }
  const out = new Float64Array(dstWidth * dstHeight);
  for (let y = 0; y < dstHeight; y++) {
    const o = y * dstWidth;
    for (let k = ty.start[y]; k < ty.start[y + 1]; k++) {
      const r = ty.idx[k] * dstWidth, wy = ty.w[k];
      for (let x = 0; x < dstWidth; x++) out[o + x] = f(out[o + x] + f(rows[r + x] * wy));
    }
  }
  return u8 ? Uint8Array.from(out, toU8) : out;
}
