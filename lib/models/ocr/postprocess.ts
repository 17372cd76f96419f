/**
 * PaddleOCR's post-processing, model-free: CTC greedy decoding of the recogniser's output, DB
 * post-processing of the detector's probability map into text boxes (components, minimum-area
 * rectangles, box scores, unclip), reading order, and the upright crop of a box. What each step
 * follows in PaddleOCR is in the module doc of `paddle.ts`, which runs the models.
 *
 * @module
 */
import type { RgbImage } from "../../core/image.ts";

/** A point `[x, y]` in pixels. */
export type Point = [number, number];

/** DB post-processing and detection settings (PaddleOCR defaults in {@link DEFAULT_DET_OPTIONS}). */
export interface DetOptions {
  /**
   * `max`: shrink so the long side is at most `limitSide` (never enlarge; PaddleOCR's inference
   * default, 960). `min`: enlarge so the short side is at least `limitSide` (never shrink;
   * `DetResizeForTest`'s own default, 736), the long side capped at {@link MAX_DET_SIDE}.
   */
  limitType: "max" | "min";
  /** Side limit of the copy the detector runs on, see `limitType`. */
  limitSide: number;
  /** Binarisation threshold of the probability map. */
  thresh: number;
  /** Mean probability inside a box below which it is dropped. */
  boxThresh: number;
  /** Expansion: distance = area × ratio / perimeter. */
  unclipRatio: number;
  /** At most this many candidate components, largest first. */
  maxCandidates: number;
}

/** PaddleOCR's inference defaults for PP-OCRv4 detection (`tools/infer/utility.py`). */
export const DEFAULT_DET_OPTIONS: Readonly<DetOptions> = {
  limitType: "max",
  limitSide: 960,
  thresh: 0.3,
  boxThresh: 0.6,
  unclipRatio: 1.5,
  maxCandidates: 1000,
};

/** One detected text box: four corners clockwise from the top left, pixels of the input image. */
export interface TextBox {
  points: [Point, Point, Point, Point];
  /** Mean detection probability inside the box before expansion. */
  score: number;
}

/**
 * CTC greedy decoding (PaddleOCR `CTCLabelDecode`): arg-max class per time step, repeats merged,
 * blank (index 0) dropped; confidence is the mean probability of the kept steps (0 when none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ctcGreedyDecode } from "./postprocess.ts";
 * // 4 steps × 3 classes (blank, "a", "b"): a a blank b
 * const p = new Float32Array([0.1, 0.9, 0, 0.2, 0.8, 0, 0.9, 0.1, 0, 0.3, 0, 0.7]);
 * const r = ctcGreedyDecode(p, 4, 3, ["", "a", "b"]);
 * assert.equal(r.text, "ab");
 * assert.deepEqual(r.charConfidences.map((c) => +c.toFixed(2)), [0.9, 0.7]);
 * assert.equal(+r.confidence.toFixed(2), 0.8);
 * ```
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  steps: number,
  classes: number,
  characters: readonly string[],
): { text: string; confidence: number; charConfidences: number[] } {
  let text = "", prev = -1;
  const conf: number[] = [];
  for (let t = 0; t < steps; t++) {
    let best = 0, bestP = -Infinity;
    const o = t * classes;
    for (let k = 0; k < classes; k++) {
      if (probs[o + k] > bestP) {
        bestP = probs[o + k];
        best = k;
      }
    }
    if (best !== 0 && best !== prev) {
      text += characters[best] ?? "";
      conf.push(bestP);
    }
    prev = best;
  }
  const confidence = conf.length ? conf.reduce((a, b) => a + b, 0) / conf.length : 0;
  return { text, confidence, charConfidences: conf };
}

// ---------------------------------------------------------------- DB post-processing

/**
 * DB post-processing of a probability map (`width × height`, the detector input) into boxes in
 * pixels of the original image (`destWidth × destHeight`); see the module doc for the steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dbPostprocess, DEFAULT_DET_OPTIONS } from "./postprocess.ts";
 * const w = 64, h = 32, map = new Float32Array(w * h);
 * for (let y = 10; y < 20; y++) for (let x = 8; x < 48; x++) map[y * w + x] = 0.9;
 * const [b] = dbPostprocess(map, w, h, w, h, DEFAULT_DET_OPTIONS);
 * assert.equal(b.points[0][0] < 8 && b.points[2][0] > 47, true); // grown beyond the blob
 * assert.equal(+b.score.toFixed(2), 0.9);
 * ```
 */
export function dbPostprocess(
  map: Float32Array,
  width: number,
  height: number,
  destWidth: number,
  destHeight: number,
  o: DetOptions,
): TextBox[] {
  const comps = components(map, width, height, o.thresh).sort((a, b) => b.size - a.size).slice(
    0,
    o.maxCandidates,
  );
  const minSize = 3;
  const out: TextBox[] = [];
  for (const c of comps) {
    const rect = minAreaRect(convexHull(c.boundary));
    if (Math.min(rect.w, rect.h) < minSize) continue;
    const pts = rectPoints(rect);
    const score = boxScoreFast(map, width, height, pts);
    if (score < o.boxThresh) continue;
    const area = rect.w * rect.h, perimeter = 2 * (rect.w + rect.h);
    const d = (area * o.unclipRatio) / perimeter;
    const grown = { ...rect, w: rect.w + 2 * d, h: rect.h + 2 * d };
    if (Math.min(grown.w, grown.h) < minSize + 2) continue;
    const sx = destWidth / width, sy = destHeight / height;
    const scaled = miniBoxOrder(rectPoints(grown)).map(([x, y]): Point => [
      Math.min(Math.max(Math.round(x * sx), 0), destWidth),
      Math.min(Math.max(Math.round(y * sy), 0), destHeight),
    ]);
    // filter_tag_det_res: clockwise order, clip to the image, drop thin boxes.
    const pts4 = orderClockwise(scaled).map(([x, y]): Point => [
      Math.min(Math.max(x, 0), destWidth - 1),
      Math.min(Math.max(y, 0), destHeight - 1),
    ]) as [Point, Point, Point, Point];
    const rw = Math.trunc(dist(pts4[0], pts4[1])), rh = Math.trunc(dist(pts4[0], pts4[3]));
    if (rw <= 3 || rh <= 3) continue;
    out.push({ points: pts4, score });
  }
  return out;
}

interface Component {
  size: number;
  boundary: Point[];
}

/** 8-connected components of `map > thresh`, with their boundary pixels (a 4-neighbour outside). */
function components(map: Float32Array, width: number, height: number, thresh: number): Component[] {
  const n = width * height;
  const on = new Uint8Array(n);
  for (let i = 0; i < n; i++) on[i] = map[i] > thresh ? 1 : 0;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const out: Component[] = [];
  for (let s = 0; s < n; s++) {
    if (!on[s] || seen[s]) continue;
    let top = 0, size = 0;
    const boundary: Point[] = [];
    stack[top++] = s;
    seen[s] = 1;
    while (top) {
      const i = stack[--top];
      size++;
      const x = i % width, y = (i - x) / width;
      if (
        x === 0 || y === 0 || x === width - 1 || y === height - 1 || !on[i - 1] || !on[i + 1] ||
        !on[i - width] || !on[i + width]
      ) boundary.push([x, y]);
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (on[j] && !seen[j]) {
            seen[j] = 1;
            stack[top++] = j;
          }
        }
      }
    }
    out.push({ size, boundary });
  }
  return out;
}

/** Convex hull (Andrew's monotone chain), counter-clockwise in image coordinates' math sense. */
function convexHull(points: Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o: Point, a: Point, b: Point) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [], upper: Point[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

interface Rect {
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Unit vector along `w`. */
  ux: number;
  uy: number;
}

/** Minimum-area enclosing rectangle of a convex polygon (rotating calipers over its edges). */
function minAreaRect(hull: Point[]): Rect {
  if (hull.length === 0) return { cx: 0, cy: 0, w: 0, h: 0, ux: 1, uy: 0 };
  if (hull.length === 1) return { cx: hull[0][0], cy: hull[0][1], w: 0, h: 0, ux: 1, uy: 0 };
  let best: Rect | undefined, bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i], b = hull[(i + 1) % hull.length];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len, uy = (b[1] - a[1]) / len;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const [x, y] of hull) {
      const u = x * ux + y * uy, v = -x * uy + y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2, cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, ux, uy };
    }
  }
  return best!;
}

function rectPoints(r: Rect): Point[] {
  const ax = (r.ux * r.w) / 2, ay = (r.uy * r.w) / 2, bx = (-r.uy * r.h) / 2, by = (r.ux * r.h) / 2;
  return [
    [r.cx - ax - bx, r.cy - ay - by],
    [r.cx + ax - bx, r.cy + ay - by],
    [r.cx + ax + bx, r.cy + ay + by],
    [r.cx - ax + bx, r.cy - ay + by],
  ];
}

/** `get_mini_boxes` ordering: by x; of the two left points the upper first, … */
function miniBoxOrder(pts: Point[]): Point[] {
  const p = [...pts].sort((a, b) => a[0] - b[0]);
  const [i1, i4] = p[1][1] > p[0][1] ? [0, 1] : [1, 0];
  const [i2, i3] = p[3][1] > p[2][1] ? [2, 3] : [3, 2];
  return [p[i1], p[i2], p[i3], p[i4]];
}

/** `order_points_clockwise`: top-left, top-right, bottom-right, bottom-left. */
function orderClockwise(pts: Point[]): Point[] {
  const bySum = [...pts].sort((a, b) => a[0] + a[1] - (b[0] + b[1]));
  const tl = bySum[0], br = bySum[3];
  const rest = pts.filter((p) => p !== tl && p !== br);
  const [tr, bl] = rest.length === 2 && rest[0][1] - rest[0][0] > rest[1][1] - rest[1][0]
    ? [rest[1], rest[0]]
    : [rest[0], rest[1] ?? rest[0]];
  return [tl, tr, br, bl];
}

function dist(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** `box_score_fast`: mean of the map over the box polygon (pixel centres inside or on the edge). */
function boxScoreFast(map: Float32Array, width: number, height: number, pts: Point[]): number {
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(Math.max(Math.floor(Math.min(...xs)), 0), width - 1);
  const x1 = Math.min(Math.max(Math.ceil(Math.max(...xs)), 0), width - 1);
  const y0 = Math.min(Math.max(Math.floor(Math.min(...ys)), 0), height - 1);
  const y1 = Math.min(Math.max(Math.ceil(Math.max(...ys)), 0), height - 1);
  const poly = pts.map(([x, y]): Point => [Math.trunc(x - x0) + x0, Math.trunc(y - y0) + y0]);
  let sum = 0, count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (insideConvex(poly, x, y)) {
        sum += map[y * width + x];
        count++;
      }
    }
  }
  return count ? sum / count : 0;
}

function insideConvex(poly: Point[], x: number, y: number): boolean {
  let sign = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i], b = poly[(i + 1) % poly.length];
    const c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    if (Math.abs(c) < 1e-9) continue;
    const s = c > 0 ? 1 : -1;
    if (sign === 0) sign = s;
    else if (s !== sign) return false;
  }
  return true;
}

/**
 * Reading order (PaddleOCR `sorted_boxes`): by top-left y then x, then boxes on one line (top
 * edges within 10 px) left to right.
 */
export function sortedBoxes<T extends TextBox>(boxes: T[]): T[] {
  const b = [...boxes].sort((p, q) => p.points[0][1] - q.points[0][1] || p.points[0][0] - q.points[0][0]);
  for (let i = 0; i < b.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      if (
        Math.abs(b[j + 1].points[0][1] - b[j].points[0][1]) < 10 && b[j + 1].points[0][0] < b[j].points[0][0]
      ) {
        [b[j], b[j + 1]] = [b[j + 1], b[j]];
      } else break;
    }
  }
  return b;
}

/**
 * Axis-aligned pixel bounds of `pts` (the pixel at the largest coordinate included), clipped to a
 * `width × height` image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boundsOf } from "./postprocess.ts";
 * assert.deepEqual(boundsOf([[-2, 1], [10, 1], [10, 5], [-2, 5]], 8, 8), { x: 0, y: 1, width: 8, height: 5 });
 * ```
 */
export function boundsOf(pts: Point[], width: number, height: number) {
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x = Math.max(0, Math.min(...xs)), y = Math.max(0, Math.min(...ys));
  return {
    x,
    y,
    width: Math.min(width, Math.max(...xs) + 1) - x,
    height: Math.min(height, Math.max(...ys) + 1) - y,
  };
}

/**
 * The upright crop of a box (PaddleOCR `get_rotate_crop_image`): width = longer of the top and
 * bottom edges, height = longer of the side edges, sampled bilinearly along the box's edges
 * (replicated border); turned 90° counter-clockwise when height ≥ 1.5 × width.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rotateCrop } from "./postprocess.ts";
 * const img = { width: 4, height: 2, data: new Uint8Array(24).map((_, i) => i) };
 * const c = rotateCrop(img, [[1, 0], [3, 0], [3, 1], [1, 1]]);
 * assert.deepEqual([c.width, c.height, c.data[0]], [2, 1, 3]);
 * ```
 */
export function rotateCrop(img: RgbImage, pts: readonly Point[]): RgbImage {
  const [p0, p1, p2, p3] = pts;
  const w = Math.max(1, Math.trunc(Math.max(dist(p0, p1), dist(p2, p3))));
  const h = Math.max(1, Math.trunc(Math.max(dist(p0, p3), dist(p1, p2))));
  const ux = (p1[0] - p0[0]) / w, uy = (p1[1] - p0[1]) / w;
  const vx = (p3[0] - p0[0]) / h, vy = (p3[1] - p0[1]) / h;
  const data = new Uint8Array(w * h * 3);
  const W = img.width, H = img.height, src = img.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = p0[0] + x * ux + y * vx, sy = p0[1] + x * uy + y * vy;
      const fx = Math.floor(sx), fy = Math.floor(sy), ax = sx - fx, ay = sy - fy;
      const x0 = Math.min(Math.max(fx, 0), W - 1), x1 = Math.min(Math.max(fx + 1, 0), W - 1);
      const y0 = Math.min(Math.max(fy, 0), H - 1), y1 = Math.min(Math.max(fy + 1, 0), H - 1);
      for (let c = 0; c < 3; c++) {
        const v = (1 - ay) * ((1 - ax) * src[(y0 * W + x0) * 3 + c] + ax * src[(y0 * W + x1) * 3 + c]) +
          ay * ((1 - ax) * src[(y1 * W + x0) * 3 + c] + ax * src[(y1 * W + x1) * 3 + c]);
        data[(y * w + x) * 3 + c] = Math.round(v);
      }
    }
  }
  if (h < 1.5 * w) return { width: w, height: h, data };
  // np.rot90: counter-clockwise; new (x', y') = (y, w - 1 - x).
  const r = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const nx = y, ny = w - 1 - x;
      for (let c = 0; c < 3; c++) r[(ny * h + nx) * 3 + c] = data[(y * w + x) * 3 + c];
    }
  }
  return { width: h, height: w, data: r };
}
