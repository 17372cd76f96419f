/**
 * Boxes in image pixels and their overlap: the one {@link Box} type and the one {@link iou} of the
 * project (detectors, face matching, object suppression, label consensus all use these).
 *
 * @module
 */

/** A rectangle in pixels of the upright image: left, top, width, height (continuous coordinates). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Area shared by two boxes (0 when they do not overlap).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intersection } from "./geometry.ts";
 * assert.equal(intersection({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 5, width: 10, height: 10 }), 25);
 * assert.equal(intersection({ x: 0, y: 0, width: 10, height: 10 }, { x: 10, y: 0, width: 5, height: 5 }), 0);
 * ```
 */
export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Intersection over union of two boxes: area(A ∩ B) / area(A ∪ B), in [0, 1]; 0 when the union is
 * empty (two boxes of zero area). No +1 pixel convention.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { iou } from "./geometry.ts";
 * assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
 * assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 10, y: 0, width: 10, height: 10 }), 0);
 * assert.equal(iou({ x: 3, y: 3, width: 0, height: 0 }, { x: 3, y: 3, width: 0, height: 0 }), 0);
 * ```
 */
export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * TensorFlow's IoU of boxes `i` and `j` in a flat array of corner boxes `[y0, x0, y1, x1, …]` (either
 * corner first, as `tf.image.nonMaxSuppression` accepts them): 0 when either box has no area. The
 * ONNX ports of face-api's and Human's NMS use it, so their suppression matches TF.js exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cornerIou } from "./geometry.ts";
 * const b = new Float32Array([0, 0, 10, 10, 10, 15, 0, 5]);
 * assert.equal(cornerIou(b, 0, 1), 50 / 150);
 * ```
 */
export function cornerIou(b: Float32Array, i: number, j: number): number {
  const y0i = Math.min(b[4 * i], b[4 * i + 2]), x0i = Math.min(b[4 * i + 1], b[4 * i + 3]);
  const y1i = Math.max(b[4 * i], b[4 * i + 2]), x1i = Math.max(b[4 * i + 1], b[4 * i + 3]);
  const y0j = Math.min(b[4 * j], b[4 * j + 2]), x0j = Math.min(b[4 * j + 1], b[4 * j + 3]);
  const y1j = Math.max(b[4 * j], b[4 * j + 2]), x1j = Math.max(b[4 * j + 1], b[4 * j + 3]);
  const ai = (y1i - y0i) * (x1i - x0i), aj = (y1j - y0j) * (x1j - x0j);
  if (ai <= 0 || aj <= 0) return 0;
  const inter = Math.max(Math.min(y1i, y1j) - Math.max(y0i, y0j), 0) *
    Math.max(Math.min(x1i, x1j) - Math.max(x0i, x0j), 0);
  return inter / (ai + aj - inter);
}
