/**
 * Perceptual hash (pHash) for finding near-duplicate generations: images that differ only by
 * resizing, re-encoding or small edits get hashes a few bits apart, different images about half
 * the 64 bits apart.
 *
 * Definition: gray plane (OpenCV luma) → 32×32 by area averaging (INTER_AREA, in doubles) →
 * unnormalised 2-D DCT-II → the top-left 8×8 coefficients (lowest frequencies, DC included) →
 * bit = coefficient > median, where the median is taken over the 63 AC coefficients only (the DC
 * term, the image mean times 1024, would otherwise skew it; with 63 values the median is one of
 * them) → 64 bits in row-major order, most significant first → 16 lowercase hex characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { phash } from "./phash.ts";
 * const data = new Uint8Array(64 * 64 * 3).map((_, i) => (Math.floor(i / 3) % 64) * 4);
 * assert.match(phash.compute(new ImageContext({ width: 64, height: 64, data })).phash as string, /^[0-9a-f]{16}$/);
 * ```
 * @module
 */
import type { ImageContext, PureHeuristic, Value } from "./types.ts";
import { resizeArea } from "../core/resize.ts";

/** Side of the square the DCT is taken on. */
const SIZE = 32;
/** Side of the low-frequency block that makes the hash. */
const LOW = 8;

/** `COS[k * SIZE + n] = cos(π (2n + 1) k / (2 SIZE))` for the first {@link LOW} frequencies. */
const COS = (() => {
  const t = new Float64Array(LOW * SIZE);
  for (let k = 0; k < LOW; k++) {
    for (let n = 0; n < SIZE; n++) t[k * SIZE + n] = Math.cos((Math.PI * (2 * n + 1) * k) / (2 * SIZE));
  }
  return t;
})();

/**
 * The 64-bit perceptual hash of a gray plane as 16 lowercase hex characters (see the module
 * comment for the exact definition).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { perceptualHash } from "./phash.ts";
 * const gray = new Uint8Array(40 * 30).map((_, i) => (i % 40 < 20 ? 0 : 255));
 * assert.equal(perceptualHash(gray, 40, 30), perceptualHash(gray.slice(), 40, 30));
 * assert.equal(perceptualHash(gray, 40, 30).length, 16);
 * ```
 */
export function perceptualHash(gray: Uint8Array, width: number, height: number): string {
  const small = resizeArea(gray, width, height, SIZE, SIZE, { float: true });
  // Rows: first LOW horizontal frequencies of each of the SIZE rows.
  const rows = new Float64Array(SIZE * LOW);
  for (let y = 0; y < SIZE; y++) {
    for (let k = 0; k < LOW; k++) {
      let s = 0;
      for (let n = 0; n < SIZE; n++) s += small[y * SIZE + n] * COS[k * SIZE + n];
      rows[y * LOW + k] = s;
    }
  }
  const coef = new Float64Array(LOW * LOW);
  for (let ky = 0; ky < LOW; ky++) {
    for (let kx = 0; kx < LOW; kx++) {
      let s = 0;
      for (let n = 0; n < SIZE; n++) s += rows[n * LOW + kx] * COS[ky * SIZE + n];
      coef[ky * LOW + kx] = s;
    }
  }
  const ac = Array.from(coef.subarray(1)).sort((a, b) => a - b);
  const median = ac[(ac.length - 1) / 2];
  let hex = "";
  for (let i = 0; i < LOW * LOW; i += 4) {
    let nibble = 0;
    for (let b = 0; b < 4; b++) nibble = (nibble << 1) | (coef[i + b] > median ? 1 : 0);
    hex += nibble.toString(16);
  }
  return hex;
}

const HEX = /^[0-9a-f]+$/i;

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Splits a hex hash into 32-bit words (8 hex chars each, last one shorter). */
function words(hash: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hash.length; i += 8) out.push(parseInt(hash.slice(i, i + 8), 16) >>> 0);
  return out;
}

function checkHash(h: string): void {
  if (!HEX.test(h)) throw new RangeError(`not a hex hash: "${h}"`);
}

/**
 * Number of differing bits between two hex hashes of equal length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hammingDistance } from "./phash.ts";
 * assert.equal(hammingDistance("00000000000000ff", "000000000000000f"), 4);
 * ```
 */
export function hammingDistance(a: string, b: string): number {
  checkHash(a);
  checkHash(b);
  if (a.length !== b.length) throw new RangeError(`hashes differ in length: "${a}" vs "${b}"`);
  const wa = words(a), wb = words(b);
  let d = 0;
  for (let i = 0; i < wa.length; i++) d += popcount32(wa[i] ^ wb[i]);
  return d;
}

/** One item of {@link groupNearDuplicates}' result. */
export interface DuplicateGroupEntry {
  path: string;
  hash: string;
  /** Index (in the input) of the first member of this item's group; its own index for singletons. */
  group: number;
  /** Hamming distance from this item's hash to that first member's hash (0 for the first member). */
  distance: number;
}

/**
 * Groups near-duplicates: every pair with Hamming distance ≤ `maxDistance` is joined
 * (union-find, so groups are transitive closures), and each item, in input order, gets the index
 * of its group's first member and its distance to that member. Singletons are included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupNearDuplicates } from "./phash.ts";
 * const g = groupNearDuplicates([
 *   { path: "a.png", hash: "ffff0000ffff0000" },
 *   { path: "b.png", hash: "0000ffff0000ffff" },
 *   { path: "a_small.jpg", hash: "ffff0000ffff0001" },
 * ]);
 * assert.deepEqual(g.map((e) => [e.group, e.distance]), [[0, 0], [1, 0], [0, 1]]);
 * ```
 */
export function groupNearDuplicates(
  items: readonly { path: string; hash: string }[],
  maxDistance = 10,
): DuplicateGroupEntry[] {
  const { roots, distance } = duplicateRoots(items.map((it) => it.hash), maxDistance);
  return items.map((it, i) => ({
    path: it.path,
    hash: it.hash,
    group: roots[i],
    distance: distance(i, roots[i]),
  }));
}

/**
 * The union-find of {@link groupNearDuplicates} without an object per item: for each hash, in
 * input order, the index of its group's first member (`roots`), and the Hamming distance between
 * two of the hashes by index (`Infinity` between hashes of different lengths). The hashes are
 * kept as 32-bit words in one typed array, so memory is a few bytes per hash beyond the strings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { duplicateRoots } from "./phash.ts";
 * const { roots, distance } = duplicateRoots(["ffff0000ffff0000", "0000ffff0000ffff", "ffff0000ffff0001"]);
 * assert.deepEqual([...roots], [0, 1, 0]);
 * assert.equal(distance(0, 2), 1);
 * ```
 */
export function duplicateRoots(
  hashes: readonly string[],
  maxDistance = 10,
): { roots: Int32Array; distance: (i: number, j: number) => number } {
  const n = hashes.length;
  let stride = 0;
  for (const h of hashes) {
    checkHash(h);
    stride = Math.max(stride, Math.ceil(h.length / 8));
  }
  const w = new Uint32Array(n * stride);
  hashes.forEach((h, i) => w.set(words(h), i * stride));
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const distance = (i: number, j: number): number => {
    if (hashes[i].length !== hashes[j].length) return Infinity;
    let d = 0;
    for (let k = 0; k < stride; k++) d += popcount32(w[i * stride + k] ^ w[j * stride + k]);
    return d;
  };
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (distance(i, j) <= maxDistance) {
        const a = find(i), b = find(j);
        // Keep the smaller index as root so the root is the group's first member.
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
  }
  const roots = new Int32Array(n);
  for (let i = 0; i < n; i++) roots[i] = find(i);
  return { roots, distance };
}

/** pHash heuristic: a descriptive hash column; near-duplicates are found across images afterwards. */
export const phash: PureHeuristic = {
  name: "phash",
  description: "64-bit perceptual hash (DCT of a 32×32 gray thumbnail) for finding near-duplicate " +
    "generations; compare with Hamming distance (≤ 10 of 64 bits: likely the same image).",
  errorType: "duplicate",
  outputs: [
    {
      name: "phash",
      unit: "16 hex characters (64 bits)",
      direction: "neither",
      type: "string",
      description:
        "Gray → 32×32 INTER_AREA → 2-D DCT-II → top-left 8×8 (DC included) → bit = coefficient > " +
        "median of the 63 AC coefficients, row-major, most significant bit first.",
    },
  ],
  // Duplicates are a property of a set of images, not of one: see groupNearDuplicates.
  thresholds: [],
  compute(ctx: ImageContext): Record<string, Value> {
    return { phash: perceptualHash(ctx.grayNow(), ctx.width, ctx.height) };
  },
};
